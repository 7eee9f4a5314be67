package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/mailer"
)

// testPKI is a private CA and a server certificate it signed for
// 127.0.0.1 and localhost, made fresh for each test.
type testPKI struct {
	caFile string // the CA certificate, PEM
	server tls.Certificate
}

func newTestPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " Test Root CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "relay.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{
		caFile: filepath.Join(t.TempDir(), "relay-ca.pem"),
		server: tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
	}
	if err := os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Ways a tlsSink offers TLS.
const (
	offerNone     = iota // no TLS at all
	offerStartTLS        // STARTTLS on a plain connection
	offerImplicit        // TLS from the first byte
)

// tlsSink is a sink that speaks TLS with a test certificate, offers AUTH
// only under TLS (also LOGIN, besides the sink's PLAIN and XOAUTH2), and
// records what the TLS state of each connection was when it authenticated
// and when it handed over a mail.
type tlsSink struct {
	*sink
	mu      sync.Mutex
	mailTLS []tlsSeen // one per accepted mail
	authTLS []tlsSeen // one per AUTH command
}

type tlsSeen struct {
	on      bool   // the connection was TLS, handshake complete
	version uint16 // its TLS version
}

func newTLSSink(t testing.TB, pki *testPKI, offer int, configure func(*sink)) *tlsSink {
	t.Helper()
	ts := &tlsSink{sink: &sink{}}
	if configure != nil {
		configure(ts.sink)
	}
	srv := smtp.NewServer(ts)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = false // AUTH only once TLS is on
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 30 << 20
	srv.ErrorLog = discardLogger{}
	ts.srv = srv
	conf := &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.port = l.Addr().(*net.TCPAddr).Port
	switch offer {
	case offerStartTLS:
		srv.TLSConfig = conf
	case offerImplicit:
		l = tls.NewListener(l, conf)
	}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return ts
}

// NewSession implements smtp.Backend around the sink's sessions.
func (ts *tlsSink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s, err := ts.sink.NewSession(c)
	if err != nil {
		return nil, err
	}
	return &tlsSession{sinkSession: s.(*sinkSession), ts: ts, conn: c}, nil
}

func seen(c *smtp.Conn) tlsSeen {
	st, ok := c.TLSConnectionState()
	return tlsSeen{on: ok && st.HandshakeComplete, version: st.Version}
}

func (ts *tlsSink) mails() []tlsSeen {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]tlsSeen(nil), ts.mailTLS...)
}

func (ts *tlsSink) auths() []tlsSeen {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]tlsSeen(nil), ts.authTLS...)
}

func (ts *tlsSink) loginsSoFar() []string {
	ts.sink.mu.Lock()
	defer ts.sink.mu.Unlock()
	return append([]string(nil), ts.sink.logins...)
}

type tlsSession struct {
	*sinkSession
	ts   *tlsSink
	conn *smtp.Conn
}

func (s *tlsSession) AuthMechanisms() []string {
	m := s.sinkSession.AuthMechanisms()
	if s.ts.users != nil {
		m = append(m, sasl.Login)
	}
	return m
}

func (s *tlsSession) Auth(mech string) (sasl.Server, error) {
	s.ts.mu.Lock()
	s.ts.authTLS = append(s.ts.authTLS, seen(s.conn))
	s.ts.mu.Unlock()
	if mech == sasl.Login && s.ts.users != nil {
		return &loginServer{ss: s.sinkSession}, nil
	}
	return s.sinkSession.Auth(mech)
}

func (s *tlsSession) Data(r io.Reader) error {
	st := seen(s.conn)
	if err := s.sinkSession.Data(r); err != nil {
		return err
	}
	s.ts.mu.Lock()
	s.ts.mailTLS = append(s.ts.mailTLS, st)
	s.ts.mu.Unlock()
	return nil
}

// loginServer is the server side of AUTH LOGIN (go-sasl has only the
// client): "Username:", "Password:", then the verdict.
type loginServer struct {
	ss   *sinkSession
	step int
	user string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(resp) == 0 { // no initial response
			return []byte("Username:"), false, nil
		}
		l.step++
		fallthrough
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	}
	s := l.ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if want, ok := s.users[l.user]; !ok || want != string(resp) {
		return nil, true, &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
	}
	l.ss.auth = true
	s.logins = append(s.logins, "login:"+l.user)
	return nil, true, nil
}

// tlsFixture is a fixture whose relay is ts.
func tlsFixture(t *testing.T, ts *tlsSink, relay func(*mailer.Relay)) *fixture {
	t.Helper()
	f := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.Relay.Port = ts.port
		relay(&o.Relay)
	}, nil)
	f.sink = ts.sink
	return f
}

// TestRelayTLS delivers a notice over STARTTLS and implicit TLS to a relay
// whose certificate comes from a private CA, and shows that an untrusted
// certificate stops delivery without losing the notice.
func TestRelayTLS(t *testing.T) {
	pki := newTestPKI(t, "Bank")
	for _, tc := range []struct {
		name    string
		offer   int
		relay   func(*mailer.Relay)
		sent    bool
		overTLS bool   // the relay got the mail over TLS
		errText string // in last_error when not sent
	}{
		{"STARTTLS mandatory, private CA in ca_file", offerStartTLS,
			func(r *mailer.Relay) { r.TLS, r.CAFile = "mandatory", pki.caFile }, true, true, ""},
		{"STARTTLS mandatory, host name localhost", offerStartTLS,
			func(r *mailer.Relay) { r.Host, r.TLS, r.CAFile = "localhost", "mandatory", pki.caFile }, true, true, ""},
		{"implicit TLS, private CA in ca_file", offerImplicit,
			func(r *mailer.Relay) { r.TLS, r.CAFile = "implicit", pki.caFile }, true, true, ""},
		{"opportunistic, STARTTLS offered", offerStartTLS,
			func(r *mailer.Relay) { r.TLS, r.CAFile = "opportunistic", pki.caFile }, true, true, ""},
		{"opportunistic, STARTTLS not offered: clear text", offerNone,
			func(r *mailer.Relay) { r.TLS, r.CAFile = "opportunistic", pki.caFile }, true, false, ""},
		{"STARTTLS mandatory, CA not trusted", offerStartTLS,
			func(r *mailer.Relay) { r.TLS = "mandatory" }, false, false, "not trust (a private CA goes in relay.ca_file)"},
		{"opportunistic, CA not trusted: no clear-text fallback", offerStartTLS,
			func(r *mailer.Relay) { r.TLS = "opportunistic" }, false, false, "certificate signed by unknown authority"},
		{"implicit TLS, CA not trusted", offerImplicit,
			func(r *mailer.Relay) { r.TLS = "implicit" }, false, false, "not trust (a private CA goes in relay.ca_file)"},
		{"STARTTLS mandatory, another CA in ca_file", offerStartTLS,
			func(r *mailer.Relay) { r.TLS, r.CAFile = "mandatory", newTestPKI(t, "Other").caFile }, false, false,
			"trusted neither by this machine nor by relay.ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTLSSink(t, pki, tc.offer, nil)
			f := tlsFixture(t, ts, tc.relay)
			f.open("jane-1@user.com")
			f.deliver()
			r := f.rows()[0]
			if !tc.sent {
				if r.State != "pending" || r.Attempts != 1 || !strings.Contains(r.LastError, tc.errText) {
					t.Fatalf("state %s, attempts %d, last error %q; want pending after 1 attempt, error with %q",
						r.State, r.Attempts, r.LastError, tc.errText)
				}
				if ts.dataCommands() != 0 || ts.accepted() != 0 {
					t.Fatalf("the relay saw %d DATA commands, want none", ts.dataCommands())
				}
				return
			}
			if r.State != "sent" || ts.accepted() != 1 {
				t.Fatalf("state %s (error %q), relay accepted %d", r.State, r.LastError, ts.accepted())
			}
			m := ts.mails()
			if len(m) != 1 || m[0].on != tc.overTLS {
				t.Fatalf("relay's view of the connection: %+v, want TLS %v", m, tc.overTLS)
			}
			if tc.overTLS && m[0].version < tls.VersionTLS12 {
				t.Errorf("TLS version %s", tls.VersionName(m[0].version))
			}
			if got := parse(t, ts.received()[0]).messageID(); got != r.MessageID {
				t.Errorf("relay got Message-ID %s, stored %s", got, r.MessageID)
			}
		})
	}
}

// TestRelayTLSUntrustedThenTrusted: a notice held back by an untrusted
// certificate goes out once the CA is configured, exactly once.
func TestRelayTLSUntrustedThenTrusted(t *testing.T) {
	pki := newTestPKI(t, "Bank")
	ts := newTLSSink(t, pki, offerStartTLS, nil)
	f := tlsFixture(t, ts, func(r *mailer.Relay) { r.TLS = "mandatory" })
	f.open("jane-1@user.com")
	f.deliver()
	if r := f.rows()[0]; r.State != "pending" || r.LastError == "" {
		t.Fatalf("untrusted: state %s, error %q", r.State, r.LastError)
	}
	f.opts.Relay.CAFile = pki.caFile // the admin sets relay.ca_file and restarts
	waitFor(t, "the retry to deliver", 10*time.Second, func() bool {
		f.deliver()
		return ts.accepted() > 0
	})
	r := f.rows()[0]
	if r.State != "sent" || r.Attempts != 2 || r.LastError != "" || ts.accepted() != 1 {
		t.Fatalf("state %s, attempts %d, error %q, accepted %d", r.State, r.Attempts, r.LastError, ts.accepted())
	}
	if m := ts.mails(); !m[0].on {
		t.Fatal("delivered without TLS")
	}
}

// TestRelayTLSAuth logs in with PLAIN and LOGIN over STARTTLS and implicit
// TLS; the relay offers AUTH only under TLS.
func TestRelayTLSAuth(t *testing.T) {
	pki := newTestPKI(t, "Bank")
	users := func(s *sink) { s.users = map[string]string{"postdesk": "s3cret-Pw"} }
	for _, tc := range []struct {
		name    string
		offer   int
		relay   func(*mailer.Relay)
		login   string // what the relay recorded; "" when it must refuse
		errText string
	}{
		{"PLAIN over STARTTLS", offerStartTLS,
			func(r *mailer.Relay) {
				r.TLS, r.Auth, r.Username, r.Password = "mandatory", "plain", "postdesk", "s3cret-Pw"
			},
			"plain:postdesk", ""},
		{"LOGIN over STARTTLS", offerStartTLS,
			func(r *mailer.Relay) {
				r.TLS, r.Auth, r.Username, r.Password = "mandatory", "login", "postdesk", "s3cret-Pw"
			},
			"login:postdesk", ""},
		{"PLAIN over implicit TLS", offerImplicit,
			func(r *mailer.Relay) {
				r.TLS, r.Auth, r.Username, r.Password = "implicit", "plain", "postdesk", "s3cret-Pw"
			},
			"plain:postdesk", ""},
		{"LOGIN over implicit TLS", offerImplicit,
			func(r *mailer.Relay) {
				r.TLS, r.Auth, r.Username, r.Password = "implicit", "login", "postdesk", "s3cret-Pw"
			},
			"login:postdesk", ""},
		{"PLAIN, wrong password", offerStartTLS,
			func(r *mailer.Relay) {
				r.TLS, r.Auth, r.Username, r.Password = "mandatory", "plain", "postdesk", "wr0ng-Pw"
			},
			"", "SMTP AUTH failed: 535"},
		{"LOGIN, wrong password", offerStartTLS,
			func(r *mailer.Relay) {
				r.TLS, r.Auth, r.Username, r.Password = "mandatory", "login", "postdesk", "wr0ng-Pw"
			},
			"", "SMTP AUTH failed: 535"},
		{"LOGIN, unknown user", offerImplicit,
			func(r *mailer.Relay) {
				r.TLS, r.Auth, r.Username, r.Password = "implicit", "login", "nobody", "s3cret-Pw"
			},
			"", "SMTP AUTH failed: 535"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTLSSink(t, pki, tc.offer, users)
			f := tlsFixture(t, ts, func(r *mailer.Relay) {
				r.CAFile = pki.caFile
				tc.relay(r)
			})
			f.open("jane-1@user.com")
			f.deliver()
			r := f.rows()[0]
			auths := ts.auths()
			if len(auths) != 1 || !auths[0].on {
				t.Fatalf("AUTH commands and their TLS state: %+v, want one, under TLS", auths)
			}
			if tc.login != "" {
				logins := ts.loginsSoFar()
				if r.State != "sent" || len(logins) != 1 || logins[0] != tc.login {
					t.Fatalf("state %s (error %q), logins %v, want sent as %s", r.State, r.LastError, logins, tc.login)
				}
				if m := ts.mails(); len(m) != 1 || !m[0].on {
					t.Fatalf("mail handed over %+v, want once under TLS", m)
				}
				return
			}
			if r.State != "pending" || !strings.Contains(r.LastError, tc.errText) || !strings.Contains(r.LastError, "bad credentials") {
				t.Fatalf("state %s, error %q; want pending with %q", r.State, r.LastError, tc.errText)
			}
			if ts.accepted() != 0 || len(ts.loginsSoFar()) != 0 {
				t.Fatalf("accepted %d, logins %v", ts.accepted(), ts.loginsSoFar())
			}
			for _, secret := range []string{"s3cret", "wr0ng"} {
				if strings.Contains(r.LastError, secret) {
					t.Errorf("the recorded error leaks a password: %q", r.LastError)
				}
			}
		})
	}
}

// TestCheckRelayTLS: 'postdesk mailbox test --relay' trusts what delivery
// trusts.
func TestCheckRelayTLS(t *testing.T) {
	pki := newTestPKI(t, "Bank")
	users := func(s *sink) { s.users = map[string]string{"postdesk": "s3cret-Pw"} }
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	keyPEM := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(notPEM, []byte("this is not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("k3y-bytes")}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		offer  int
		relay  func(*mailer.Relay)
		ok     bool
		step   string
		result string
		detail string
	}{
		{"STARTTLS with ca_file", offerStartTLS, func(r *mailer.Relay) { r.TLS, r.CAFile = "mandatory", pki.caFile },
			true, "tls", mailer.CheckOK, "STARTTLS worked, TLS 1.3, certificate trusted (system CAs and relay.ca_file " + pki.caFile},
		{"implicit TLS with ca_file", offerImplicit, func(r *mailer.Relay) { r.TLS, r.CAFile = "implicit", pki.caFile },
			true, "tls", mailer.CheckOK, "TLS from the first byte"},
		{"STARTTLS without ca_file", offerStartTLS, func(r *mailer.Relay) { r.TLS = "mandatory" },
			false, "tls", mailer.CheckFailed, "does not trust (self-signed, or a private CA?): put that CA's certificate in a PEM file and name it in relay.ca_file"},
		{"implicit TLS against STARTTLS port", offerStartTLS, func(r *mailer.Relay) { r.TLS, r.CAFile = "implicit", pki.caFile },
			false, "tls", mailer.CheckFailed, "does not speak TLS on this port"},
		{"LOGIN over STARTTLS", offerStartTLS, func(r *mailer.Relay) {
			r.TLS, r.CAFile, r.Auth, r.Username, r.Password = "mandatory", pki.caFile, "login", "postdesk", "s3cret-Pw"
		}, true, "auth", mailer.CheckOK, "logged in as postdesk (AUTH LOGIN)"},
		{"LOGIN, wrong password", offerImplicit, func(r *mailer.Relay) {
			r.TLS, r.CAFile, r.Auth, r.Username, r.Password = "implicit", pki.caFile, "login", "postdesk", "wr0ng-Pw"
		}, false, "auth", mailer.CheckFailed, "refused user postdesk"},
		{"ca_file missing", offerStartTLS, func(r *mailer.Relay) { r.CAFile = filepath.Join(dir, "nope.pem") },
			false, "settings", mailer.CheckFailed, "relay CA file: open " + filepath.Join(dir, "nope.pem")},
		{"ca_file not PEM", offerStartTLS, func(r *mailer.Relay) { r.CAFile = notPEM },
			false, "settings", mailer.CheckFailed, "holds no PEM certificate"},
		{"ca_file holds a key", offerStartTLS, func(r *mailer.Relay) { r.CAFile = keyPEM },
			false, "settings", mailer.CheckFailed, `PEM block 1 is a "PRIVATE KEY", not a CERTIFICATE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTLSSink(t, pki, tc.offer, users)
			cfg := mailer.Relay{Host: "127.0.0.1", Port: ts.port, Timeout: 5 * time.Second}
			tc.relay(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rep := mailer.CheckRelay(ctx, cfg)
			text := relayText(rep)
			if rep.OK() != tc.ok {
				t.Fatalf("OK() = %v, want %v:\n%s", rep.OK(), tc.ok, text)
			}
			st := relayStep(t, rep, tc.step)
			if st.Result != tc.result || !strings.Contains(st.Detail, tc.detail) {
				t.Errorf("%s step = %s %q; want %s containing %q\n%s", tc.step, st.Result, st.Detail, tc.result, tc.detail, text)
			}
			for _, secret := range []string{"s3cret", "wr0ng"} {
				if strings.Contains(text, secret) {
					t.Errorf("the report leaks a secret:\n%s", text)
				}
			}
			if ts.accepted() != 0 {
				t.Errorf("the check sent %d mails", ts.accepted())
			}
		})
	}
}
