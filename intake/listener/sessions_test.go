package listener_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// rawConn is a connection to the listener from a chosen loopback address,
// read line by line.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

// dialFrom connects to addr from the loopback address from ("" for any).
func dialFrom(t *testing.T, addr, from string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A backstop against a test that hangs, far beyond what any step needs.
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// line reads one reply line, without its CRLF.
func (c *rawConn) line() (string, error) {
	l, err := c.r.ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err
}

// reply reads a whole (multi-line) reply and returns its last line.
func (c *rawConn) reply(t *testing.T) string {
	t.Helper()
	for {
		l, err := c.line()
		if err != nil {
			t.Fatalf("reading a reply: %v (got %q)", err, l)
		}
		if len(l) < 4 || l[3] != '-' {
			return l
		}
	}
}

func (c *rawConn) cmd(t *testing.T, line, want string) {
	t.Helper()
	if _, err := io.WriteString(c, line+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := c.reply(t); !strings.HasPrefix(got, want) {
		t.Fatalf("%s: %q, want %s", line, got, want)
	}
}

// closed reports whether the server has closed the connection: nothing
// more to read. A reset counts: the server closed with bytes of ours unread.
func (c *rawConn) closed() error {
	l, err := c.line()
	if (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) && l == "" {
		return nil
	}
	if err == nil {
		return errors.New("server sent " + l + " and kept the connection")
	}
	return err
}

// trickle writes b a byte at a time, a pause between bytes, until the
// server answers 421 or closes. It returns that 421 ("" if none came
// before all of b was sent), the server's other replies meanwhile, and how
// many bytes went out.
func (c *rawConn) trickle(b []byte) (final string, others []string, sent int) {
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		for {
			l, err := c.line()
			if err != nil {
				return
			}
			lines <- l
			if strings.HasPrefix(l, "421 ") {
				return
			}
		}
	}()
	// take collects the replies so far; it reports whether the server is done.
	take := func(wait bool) bool {
		for {
			var l string
			var ok bool
			if wait {
				l, ok = <-lines
			} else {
				select {
				case l, ok = <-lines:
				default:
					return false
				}
			}
			if !ok {
				return true
			}
			if strings.HasPrefix(l, "421 ") {
				final = l
				return true
			}
			others = append(others, l)
		}
	}
	for sent = range b {
		if take(false) {
			return final, others, sent
		}
		if _, err := c.Write(b[sent : sent+1]); err != nil {
			take(true)
			return final, others, sent
		}
		time.Sleep(10 * time.Millisecond)
	}
	take(false)
	return final, others, len(b)
}

// A client that trickles its bytes, each well within the idle timeout, is
// cut off when its session's time is up, in a command as in a message,
// and nothing of a message it was trickling is stored.
func TestTricklingClientIsCutAtSessionDeadline(t *testing.T) {
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
		lc.SessionTimeout = 300 * time.Millisecond
		lc.ReadTimeout = 10 * time.Second
	})
	// 3,000 bytes, 10 ms apart, is a hundred times the session's time.
	t.Run("commands", func(t *testing.T) {
		c := dialFrom(t, r.Addr, "")
		if l := c.reply(t); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q", l)
		}
		// The NOOPs are answered 250, and the one cut off midway may be
		// read as a bad command, as go-smtp reads a partial line.
		got, others, sent := c.trickle([]byte(strings.Repeat("NOOP\r\n", 500)))
		if !strings.HasPrefix(got, "421 ") {
			t.Fatalf("trickled %d bytes of NOOPs: reply %q, want 421 and the session closed (after %d other replies)",
				sent, got, len(others))
		}
		if err := c.closed(); err != nil {
			t.Fatalf("after the 421: %v", err)
		}
	})
	t.Run("data", func(t *testing.T) {
		c := dialFrom(t, r.Addr, "")
		c.reply(t)
		c.cmd(t, "EHLO slow.example", "250 ")
		c.cmd(t, "MAIL FROM:<jane@user.com>", "250 ")
		c.cmd(t, "RCPT TO:<support@bank.example>", "250 ")
		c.cmd(t, "DATA", "354 ")
		raw := intaketest.Mail("jane@user.com", "support@bank.example", "slowly", strings.Repeat("x", 3000))
		got, others, sent := c.trickle([]byte(raw)) // never the final dot
		if !strings.HasPrefix(got, "421 4.4.2 ") || len(others) > 0 {
			t.Fatalf("trickled %d bytes of a message: replies %q then %q, want only 421 4.4.2", sent, others, got)
		}
		if err := c.closed(); err != nil {
			t.Fatalf("after the 421: %v", err)
		}
	})
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 0 {
		t.Fatalf("%d mails stored from a cut-off session", n)
	}
}

// A client that goes quiet is answered 421 and closed after the idle
// timeout, whether it was to send a command or the rest of a message.
func TestIdleClientIsClosed(t *testing.T) {
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) { lc.ReadTimeout = 200 * time.Millisecond })
	t.Run("command", func(t *testing.T) {
		c := dialFrom(t, r.Addr, "")
		c.reply(t)
		c.cmd(t, "EHLO quiet.example", "250 ")
		if l, _ := c.line(); !strings.HasPrefix(l, "421 ") {
			t.Fatalf("idle session: %q, want 421", l)
		}
		if err := c.closed(); err != nil {
			t.Fatalf("after the 421: %v", err)
		}
	})
	t.Run("data", func(t *testing.T) {
		c := dialFrom(t, r.Addr, "")
		c.reply(t)
		c.cmd(t, "EHLO quiet.example", "250 ")
		c.cmd(t, "MAIL FROM:<jane@user.com>", "250 ")
		c.cmd(t, "RCPT TO:<support@bank.example>", "250 ")
		c.cmd(t, "DATA", "354 ")
		raw := intaketest.Mail("jane@user.com", "support@bank.example", "half", "the first half")
		if _, err := io.WriteString(c, raw); err != nil { // and then nothing
			t.Fatal(err)
		}
		if l, _ := c.line(); !strings.HasPrefix(l, "421 4.4.2 ") {
			t.Fatalf("idle in DATA: %q, want 421 4.4.2", l)
		}
		if err := c.closed(); err != nil {
			t.Fatalf("after the 421: %v", err)
		}
	})
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 0 {
		t.Fatalf("%d mails stored from an idle session", n)
	}
}

// waitSessions waits until the listener counts n open sessions.
func waitSessions(t *testing.T, l *listener.Listener, n int) {
	t.Helper()
	for i := 0; l.Sessions() != n; i++ {
		if i > 10000 {
			t.Fatalf("%d sessions open, want %d", l.Sessions(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// With max_sessions N, the N+1th connection is answered 421 4.7.0 and
// closed; once a session ends there is room again. With
// max_sessions_per_ip, so is a client address's connection over its cap,
// while other addresses are served.
func TestSessionCapsAre421(t *testing.T) {
	t.Run("max_sessions", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
			lc.MaxSessions, lc.MaxSessionsPerIP, lc.Metrics = 5, 5, listener.NewMetrics(reg)
		})
		var held []*rawConn
		for range 5 {
			c := dialFrom(t, r.Addr, "")
			if l := c.reply(t); !strings.HasPrefix(l, "220 ") {
				t.Fatalf("greeting %q", l)
			}
			held = append(held, c)
		}
		c := dialFrom(t, r.Addr, "127.0.0.2")
		if l := c.reply(t); !strings.HasPrefix(l, "421 4.7.0 ") {
			t.Fatalf("6th connection: %q, want 421 4.7.0", l)
		}
		if err := c.closed(); err != nil {
			t.Fatalf("after the 421: %v", err)
		}
		if n := metricValue(t, reg, "postdesk_smtp_sessions_refused_total", "limit", "max_sessions"); n != 1 {
			t.Errorf("refusals counted %v, want 1", n)
		}
		if n := metricValue(t, reg, "postdesk_smtp_sessions_open", "listener", "smtp"); n != 5 {
			t.Errorf("open sessions shown as %v, want 5", n)
		}
		held[0].Close()
		waitSessions(t, r.Lis, 4)
		c = dialFrom(t, r.Addr, "")
		if l := c.reply(t); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("after a session ended: %q, want 220", l)
		}
	})
	t.Run("max_sessions_per_ip", func(t *testing.T) {
		r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
			lc.MaxSessions, lc.MaxSessionsPerIP = 10, 2
		})
		for range 2 {
			if l := dialFrom(t, r.Addr, "127.0.0.1").reply(t); !strings.HasPrefix(l, "220 ") {
				t.Fatalf("greeting %q", l)
			}
		}
		if l := dialFrom(t, r.Addr, "127.0.0.1").reply(t); !strings.HasPrefix(l, "421 4.7.0 ") || !strings.Contains(l, "127.0.0.1") {
			t.Fatalf("3rd connection from 127.0.0.1: %q, want 421 4.7.0 naming the address", l)
		}
		if l := dialFrom(t, r.Addr, "127.0.0.2").reply(t); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("another address: %q, want 220", l)
		}
	})
}

// A thousand slow clients from a few addresses hold at most their
// addresses' share of the sessions; a normal sender from elsewhere still
// gets its mail accepted.
func TestManySlowClientsDoNotStopANormalSender(t *testing.T) {
	const (
		clients  = 1000
		addrs    = 8 // 127.0.0.2 to 127.0.0.9
		perIP    = 10
		sessions = 100
	)
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
		lc.MaxSessions, lc.MaxSessionsPerIP = sessions, perIP
		lc.ReadTimeout = time.Minute // the slow clients stay for the whole test
	})
	var (
		mu              sync.Mutex
		held, refused   int
		other           []string
		wg              sync.WaitGroup
		dialing         = make(chan struct{}, 50)
		heldConns       []net.Conn
		releaseHeldOnce sync.Once
	)
	t.Cleanup(func() {
		releaseHeldOnce.Do(func() {
			for _, c := range heldConns {
				c.Close()
			}
		})
	})
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dialing <- struct{}{}
			defer func() { <-dialing }()
			d := net.Dialer{Timeout: 30 * time.Second,
				LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%addrs))}}
			c, err := d.Dial("tcp", r.Addr)
			if err != nil {
				mu.Lock()
				other = append(other, err.Error())
				mu.Unlock()
				return
			}
			_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
			l, err := bufio.NewReader(c).ReadString('\n')
			mu.Lock()
			defer mu.Unlock()
			switch {
			case strings.HasPrefix(l, "220 "):
				held++
				heldConns = append(heldConns, c)
				_, _ = io.WriteString(c, "EHLO slow.example\r\n") // and nothing more
			case strings.HasPrefix(l, "421 4.7.0 "):
				refused++
				c.Close()
			default:
				other = append(other, l+" "+errString(err))
				c.Close()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d slow clients: %d hold a session, %d refused with 421 4.7.0", clients, held, refused)
	if len(other) > 0 {
		t.Fatalf("%d slow clients got neither a greeting nor 421 4.7.0, e.g. %q", len(other), other[0])
	}
	if held > addrs*perIP || r.Lis.Sessions() > addrs*perIP {
		t.Fatalf("%d slow clients hold sessions (%d open), want at most %d (%d addresses × %d)",
			held, r.Lis.Sessions(), addrs*perIP, addrs, perIP)
	}
	raw := intaketest.Mail("jane@user.com", "support@bank.example", "while the crowd waits", "is anyone there?")
	r.MustSend("jane@user.com", []string{"support@bank.example"}, raw) // from 127.0.0.1
	if in := r.Inbound(intaketest.MessageID(raw)); in.Outcome != "new_ticket" {
		t.Fatalf("normal sender's mail: %s (%s)", in.Outcome, in.Reason)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The limits hold over STARTTLS too, where go-smtp reads through TLS: a
// long line is taken, a client idle in DATA is answered 421 and closed.
func TestLimitsHoldOverSTARTTLS(t *testing.T) {
	server, client := selfSigned(t)
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
		lc.TLS, lc.ReadTimeout, lc.MaxMessageBytes = server, 300*time.Millisecond, 1<<20
	})
	starttls := func() *rawConn {
		c := dialFrom(t, r.Addr, "")
		c.reply(t)
		c.cmd(t, "EHLO tls.example", "250 ")
		c.cmd(t, "STARTTLS", "220 ")
		tc := tls.Client(c.Conn, client)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c = &rawConn{Conn: tc, r: bufio.NewReader(tc)}
		c.cmd(t, "EHLO tls.example", "250 ")
		c.cmd(t, "MAIL FROM:<jane@user.com>", "250 ")
		c.cmd(t, "RCPT TO:<support@bank.example>", "250 ")
		c.cmd(t, "DATA", "354 ")
		return c
	}

	c := starttls()
	raw := intaketest.Mail("jane@user.com", "support@bank.example", "over TLS", strings.Repeat("t", 100000))
	if _, err := io.WriteString(c, raw+".\r\n"); err != nil {
		t.Fatal(err)
	}
	if l := c.reply(t); !strings.HasPrefix(l, "250 ") {
		t.Fatalf("long line over TLS: %q", l)
	}
	if in := r.Inbound(intaketest.MessageID(raw)); string(in.Raw) != raw {
		t.Fatal("mail over TLS not stored byte for byte")
	}

	c = starttls()
	if _, err := io.WriteString(c, "Subject: half\r\n"); err != nil { // and then nothing
		t.Fatal(err)
	}
	if l, _ := c.line(); !strings.HasPrefix(l, "421 4.4.2 ") {
		t.Fatalf("idle in DATA over TLS: %q, want 421 4.4.2", l)
	}
	if err := c.closed(); err != nil {
		t.Fatalf("after the 421: %v", err)
	}
}

// selfSigned makes a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.bank.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

// metricValue is the value of the series of family name whose label has
// value; 0 when there is none.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					if g := m.GetGauge(); g != nil {
						return g.GetValue()
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
