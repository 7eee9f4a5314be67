package mailer_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one mail a sink accepted.
type received struct {
	From string
	To   []string
	Data []byte
}

// sink is a real SMTP server on loopback that records what it accepts and
// can be told how to answer.
type sink struct {
	srv  *smtp.Server
	port int

	mu    sync.Mutex
	mails []received
	datas int // DATA commands seen, accepted or not
	// answer decides the reply to the n-th DATA (0-based); nil accepts.
	answer func(n int) error
	// holdRcpt, when set, makes the next RCPT wait until it is closed and
	// then refuse with 451: a relay that stalls while the client stops.
	holdRcpt chan struct{}
	held     chan struct{} // closed when a RCPT is being held
	// users enables AUTH PLAIN; tokens enables AUTH XOAUTH2.
	users   map[string]string
	tokens  map[string]bool
	logins  []string
	discard bool // count mails but keep nothing (benchmark)
	count   int
	// refuseRcpt answers RCPT for these (lower-case) addresses with an error.
	refuseRcpt map[string]error
	sessions   int
	// keepRefused makes the sink behave as Mailpit v1.33.1 does: a mail
	// refused at DATA keeps its transaction open until RSET, and a MAIL
	// while a transaction is open is answered 503.
	keepRefused bool
	// mailAnswer decides the reply to the n-th MAIL (0-based); nil accepts.
	mailAnswer func(n int) error
	mailCmds   int  // MAIL commands seen
	utf8       bool // offer SMTPUTF8 (RFC 6531)
}

func newSink(t testing.TB, configure func(*sink)) *sink {
	t.Helper()
	s := &sink{}
	if configure != nil {
		configure(s)
	}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "sink.test"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 30 << 20
	s.srv.ErrorLog = discardLogger{}
	s.srv.EnableSMTPUTF8 = s.utf8
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { s.srv.Close() })
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}

// received returns a copy of the accepted mails.
func (s *sink) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

func (s *sink) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func (s *sink) dataCommands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.datas
}

// NewSession implements smtp.Backend.
func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return &sinkSession{s: s}, nil
}

func (s *sink) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

type sinkSession struct {
	s    *sink
	from string
	to   []string
	auth bool
	// open: a transaction is open (keepRefused). go-smtp resets the
	// session after every DATA; afterData makes Reset skip that one, so
	// that only the client's RSET (or EHLO) ends a refused transaction.
	open, afterData bool
}

func (ss *sinkSession) AuthMechanisms() []string {
	var m []string
	if ss.s.users != nil {
		m = append(m, sasl.Plain)
	}
	if ss.s.tokens != nil {
		m = append(m, "XOAUTH2")
	}
	return m
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error {
			ss.s.mu.Lock()
			defer ss.s.mu.Unlock()
			if want, ok := ss.s.users[user]; !ok || want != pass {
				return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
			}
			ss.auth = true
			ss.s.logins = append(ss.s.logins, "plain:"+user)
			return nil
		}), nil
	case "XOAUTH2":
		return xoauth2Server{ss}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// xoauth2Server checks "user=U\x01auth=Bearer T\x01\x01".
type xoauth2Server struct{ ss *sinkSession }

func (x xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return []byte{}, false, nil
	}
	parts := strings.Split(string(resp), "\x01")
	var user, token string
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(p, "auth=Bearer "); ok {
			token = v
		}
	}
	s := x.ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tokens[token] {
		return nil, true, errors.New("invalid token")
	}
	x.ss.auth = true
	s.logins = append(s.logins, "xoauth2:"+user+":"+token)
	return nil, true, nil
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if (ss.s.users != nil || ss.s.tokens != nil) && !ss.auth {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	ss.s.mu.Lock()
	n := ss.s.mailCmds
	ss.s.mailCmds++
	answer, keep := ss.s.mailAnswer, ss.s.keepRefused
	ss.s.mu.Unlock()
	if keep && ss.open {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: nested MAIL command"}
	}
	if answer != nil {
		if err := answer(n); err != nil {
			return err
		}
	}
	ss.from, ss.open = from, true
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	hold, held := ss.s.holdRcpt, ss.s.held
	ss.s.holdRcpt = nil
	refusal := ss.s.refuseRcpt[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if refusal != nil {
		return refusal
	}
	if hold != nil {
		close(held)
		<-hold
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.datas
	s.datas++
	if s.answer != nil {
		if err := s.answer(n); err != nil {
			ss.afterData = s.keepRefused
			return err
		}
	}
	ss.open = false
	s.count++
	if !s.discard {
		s.mails = append(s.mails, received{From: ss.from, To: append([]string(nil), ss.to...), Data: buf.Bytes()})
	}
	return nil
}

func (ss *sinkSession) Reset() {
	if ss.afterData {
		ss.afterData = false // go-smtp's own reset after a refused DATA: the transaction stays
		return
	}
	ss.from, ss.to, ss.open = "", nil, false
}

func (ss *sinkSession) Logout() error { return nil }

func tempFail() error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Requested action aborted: try again"}
}

func permFail() error {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox does not exist"}
}
