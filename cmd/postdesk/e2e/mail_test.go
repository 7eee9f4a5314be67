package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// recordingRelay is the outbound sink: an SMTP server on loopback that
// accepts every notice and records it.
type recordingRelay struct {
	addr  string
	srv   *smtp.Server
	mu    sync.Mutex
	mails []relayed
}

// relayed is one mail the relay accepted.
type relayed struct {
	from      string
	to        []string
	messageID string
	subject   string
	inReplyTo string
}

func newRelay(t testing.TB) *recordingRelay {
	t.Helper()
	r := &recordingRelay{}
	r.srv = smtp.NewServer(r)
	r.srv.Domain = "relay.test"
	r.srv.ReadTimeout, r.srv.WriteTimeout = 30*time.Second, 30*time.Second
	r.srv.MaxRecipients = 1000
	r.srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

// NewSession implements smtp.Backend.
func (r *recordingRelay) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &relaySession{r: r}, nil
}

type relaySession struct {
	r    *recordingRelay
	from string
	to   []string
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, strings.ToLower(to))
	return nil
}
func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }

func (s *relaySession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := relayed{from: s.from, to: append([]string(nil), s.to...)}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.messageID = strings.Trim(msg.Header.Get("Message-ID"), "<> ")
		m.subject = msg.Header.Get("Subject")
		m.inReplyTo = strings.Trim(msg.Header.Get("In-Reply-To"), "<> ")
	}
	s.r.mu.Lock()
	s.r.mails = append(s.r.mails, m)
	s.r.mu.Unlock()
	return nil
}

func (r *recordingRelay) received() []relayed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayed(nil), r.mails...)
}

// to returns the mails received for rcpt, oldest first.
func (r *recordingRelay) to(rcpt string) []relayed {
	var out []relayed
	for _, m := range r.received() {
		for _, t := range m.to {
			if t == strings.ToLower(rcpt) {
				out = append(out, m)
			}
		}
	}
	return out
}

// waitTo waits for the first mail to rcpt.
func (r *recordingRelay) waitTo(t testing.TB, rcpt string) relayed {
	t.Helper()
	var got []relayed
	eventually(t, 20*time.Second, "a mail to "+rcpt+" at the relay", func() bool {
		got = r.to(rcpt)
		return len(got) > 0
	})
	return got[0]
}

var tokenRE = regexp.MustCompile(`\[#([0-9]{6})\]`)

// outcome of one SMTP transaction as the client saw it.
type outcome int

const (
	accepted  outcome = iota // 250 to the end of DATA
	tempFail                 // a 4xx reply
	permFail                 // a 5xx reply
	connError                // the connection failed or was closed
)

func (o outcome) String() string {
	return [...]string{"250", "4xx", "5xx", "connection error"}[o]
}

// classify turns a client error into an outcome.
func classify(err error) outcome {
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return accepted
	case errors.As(err, &se) && se.Code >= 500:
		return permFail
	case errors.As(err, &se) && se.Code >= 400:
		return tempFail
	}
	return connError
}

// dialSMTP opens a client session to addr.
func dialSMTP(addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = 30*time.Second, 60*time.Second
	if err := c.Hello("mx.user.test"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// transact runs one mail transaction on an open session.
func transact(c *smtp.Client, from, to, raw string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, raw); err != nil {
		return err
	}
	return w.Close()
}

// sendMail delivers one mail in its own session, as an MTA would.
func sendMail(addr, from, to, raw string) error {
	c, err := dialSMTP(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := transact(c, from, to, raw); err != nil {
		return err
	}
	_ = c.Quit()
	return nil
}

// newMail returns a plain-text mail; extra holds further header lines.
func newMail(from, to, subject, messageID, body string, extra ...string) string {
	lines := []string{
		"From: " + from,
		"To: " + to,
		"Subject: " + subject,
		"Date: " + time.Now().UTC().Format(time.RFC1123Z),
		"Message-ID: <" + messageID + ">",
	}
	lines = append(lines, extra...)
	lines = append(lines, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, "")
	return strings.Join(lines, "\r\n")
}

// bounceOf is a delivery status notification for the notice with the given
// Message-ID, as a receiving MTA sends it back.
func bounceOf(to, noticeID, rcpt string) string {
	return strings.Join([]string{
		"From: Mail Delivery System <MAILER-DAEMON@mx.user.test>",
		"To: " + to,
		"Subject: Undelivered Mail Returned to Sender",
		"Date: " + time.Now().UTC().Format(time.RFC1123Z),
		"Message-ID: <dsn-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@mx.user.test>",
		"Auto-Submitted: auto-replied",
		"MIME-Version: 1.0",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="b1"`,
		"",
		"--b1",
		"Content-Type: text/plain",
		"",
		"Your message could not be delivered.",
		"--b1",
		"Content-Type: message/delivery-status",
		"",
		"Reporting-MTA: dns; mx.user.test",
		"",
		"Final-Recipient: rfc822; " + rcpt,
		"Action: failed",
		"Status: 5.1.1",
		"Diagnostic-Code: smtp; 550 5.1.1 User unknown",
		"--b1",
		"Content-Type: text/rfc822-headers",
		"",
		"To: " + rcpt,
		"Message-ID: <" + noticeID + ">",
		"--b1--",
		"",
	}, "\r\n")
}

// metrics is one scrape of /metrics: value by series, written as
// name{label="value",...} with the labels sorted, as promhttp writes them.
type metrics map[string]float64

func scrape(t testing.TB, addr string) metrics {
	t.Helper()
	code, body, err := httpGet(addr, "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	m := metrics{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// series names one series; labels are name, value pairs.
func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	type kv struct{ k, v string }
	var kvs []kv
	for i := 0; i+1 < len(labels); i += 2 {
		kvs = append(kvs, kv{labels[i], labels[i+1]})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
	parts := make([]string, len(kvs))
	for i, p := range kvs {
		parts[i] = fmt.Sprintf("%s=%q", p.k, p.v)
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// withPrefix returns the series of m whose name is name.
func (m metrics) withPrefix(name string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			out[k] = v
		}
	}
	return out
}

// imapServer is an in-memory IMAP server on loopback with one account.
type imapServer struct {
	addr, user, pass string
}

func newIMAP(t testing.TB, user, pass string) *imapServer {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true,
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &imapServer{addr: ln.Addr().String(), user: user, pass: pass}
}

// appendAll appends the mails to INBOX over one connection.
func (s *imapServer) appendAll(t testing.TB, mails []string) {
	t.Helper()
	c, err := imapclient.DialInsecure(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.user, s.pass).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, raw := range mails {
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := io.WriteString(cmd, raw); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// errorsAs is errors.As, kept short for the clients' loops.
func errorsAs(err error, target any) bool { return errors.As(err, target) }
