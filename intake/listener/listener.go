// Package listener is postdesk's SMTP and LMTP endpoint. It hands each
// mail to the inbound step (intake.Processor) and answers 250 only once
// that step has committed the mail. It is the one place that decides SMTP
// replies: whatever went wrong inside becomes a reply here that tells the
// sender what to do (retry later, or not) and nothing of our internals.
package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake"
)

// Inbound is the inbound step a listener hands mail to; intake.Processor
// is the production one.
type Inbound interface {
	// Accepts reports whether mail to addr is for one of our mailboxes.
	Accepts(addr string) bool
	// Deliver commits one mail; an error means nothing was committed.
	Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error)
}

// Config configures an SMTP or LMTP listener.
type Config struct {
	Network         string // "tcp" (default) or "unix"
	Addr            string
	LMTP            bool
	Hostname        string
	MaxMessageBytes int64 // default 25 MiB
	MaxRecipients   int   // default 100
	// ReadTimeout is the idle timeout: the longest wait for the client's
	// next bytes, in a command or in a message; zero waits as long as the
	// session may last.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// SessionTimeout bounds a whole session; default ten minutes.
	SessionTimeout time.Duration
	// MaxSessions caps the sessions open at once (default 100), and
	// MaxSessionsPerIP those from one client address (default 50, not
	// applied to Unix sockets); a connection over a cap is answered
	// 421 4.7.0 (see limits.go).
	MaxSessions      int
	MaxSessionsPerIP int
	TLS              *tls.Config // enables STARTTLS
	// DeliverTimeout bounds one mail's commit; default one minute.
	DeliverTimeout time.Duration
	// MemoryBudget bounds the memory the mails being taken in at once may
	// cost (see budget.go); a mail over it is answered 451 4.3.1. Zero:
	// 16 times MaxMessageBytes, at least 256 MiB; negative: no bound.
	// Budget, when set, is shared with other listeners and MemoryBudget is
	// not used.
	MemoryBudget int64
	Budget       *Budget
	Logger       *slog.Logger
	Metrics      *Metrics // nil counts nothing
}

// Listener is postdesk's SMTP (or LMTP) endpoint. It accepts recipients
// only for configured mailboxes, and answers 250 only once a mail is
// committed; any transient fault is a 451 and the sender retries.
type Listener struct {
	in  Inbound
	cfg Config
	srv *smtp.Server
	ln  *gate
	log *slog.Logger
	// closing is set once shutdown begins: new transactions get 421.
	closing atomic.Bool
	// inflight counts commits under way; shutdown waits for them even when
	// it has to close the connections, so that no mail is half-handled.
	inflight inflight

	mu       sync.Mutex
	sessions map[*session]*smtp.Conn // open sessions, for closing after the grace period

	budget *Budget
}

// inflight counts commits under way. Unlike a WaitGroup it may gain work
// while someone waits for it to drain.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

func (f *inflight) Add() {
	f.mu.Lock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
}

func (f *inflight) Done() {
	f.mu.Lock()
	f.n--
	if f.n == 0 {
		close(f.idle)
	}
	f.mu.Unlock()
}

func (f *inflight) Wait() {
	for {
		f.mu.Lock()
		n, idle := f.n, f.idle
		f.mu.Unlock()
		if n == 0 {
			return
		}
		<-idle
	}
}

// Replies at the protocol edge. Internal error text never reaches the client.
var (
	errNoMailbox   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	errTryLater    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, please try again later"}
	errTimedOut    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "Server busy, please try again later"}
	errInternal    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Internal error, please try again later"}
	errShutdown    = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service shutting down, please try again later"}
	errIdle        = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Idle timeout, closing connection"}
	errSessionTime = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Session time limit reached, closing connection"}
	errBadSequence = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
)

// New returns a listener that hands mail to in; call Listen, then Serve.
func New(in Inbound, cfg Config) *Listener {
	if cfg.Network == "" {
		cfg.Network = "tcp"
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 25 << 20
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 100
	}
	if cfg.MemoryBudget == 0 {
		cfg.MemoryBudget = max(16*cfg.MaxMessageBytes, 256<<20)
	}
	if cfg.MemoryBudget > 0 {
		// Room for one mail of the largest size, or it could never come in.
		cfg.MemoryBudget = max(cfg.MemoryBudget, maxReservation(cfg.MaxMessageBytes))
	}
	if cfg.DeliverTimeout <= 0 {
		cfg.DeliverTimeout = time.Minute
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Minute
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 100
	}
	if cfg.MaxSessionsPerIP <= 0 {
		cfg.MaxSessionsPerIP = 50
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	kind := "smtp"
	if cfg.LMTP {
		kind = "lmtp"
	}
	log = log.With("listener", kind)
	l := &Listener{in: in, cfg: cfg, log: log, sessions: map[*session]*smtp.Conn{}, budget: cfg.Budget}
	if l.budget == nil {
		l.budget = NewBudget(cfg.MemoryBudget, nil)
	}
	s := smtp.NewServer(l)
	s.Network, s.Addr, s.LMTP, s.Domain = cfg.Network, cfg.Addr, cfg.LMTP, cfg.Hostname
	s.MaxMessageBytes, s.MaxRecipients = cfg.MaxMessageBytes, cfg.MaxRecipients
	// Reads are timed by the session's connection (limits.go): go-smtp's
	// ReadTimeout runs from each command, so a whole message had to
	// arrive within it, and a client could trickle commands forever.
	s.WriteTimeout = cfg.WriteTimeout
	s.TLSConfig = cfg.TLS
	s.ErrorLog = slogErrorLog{log}
	l.srv = s
	return l
}

// Listen binds the listener's address.
func (l *Listener) Listen() error {
	ln, err := net.Listen(l.cfg.Network, l.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listener: listen %s %s: %w", l.cfg.Network, l.cfg.Addr, err)
	}
	l.ln = newGate(ln, l)
	return nil
}

// Addr is the bound address, once Listen has returned.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts sessions until Shutdown or Close. It returns nil when the
// listener was shut down.
func (l *Listener) Serve() error {
	l.log.Info("listening", "addr", l.ln.Addr().String())
	err := l.srv.Serve(l.ln)
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting sessions, answers 421 to new transactions, and
// waits until ctx ends for the sessions in flight to finish. Then it closes
// the sessions that are not committing a mail, lets each commit under way
// finish and give its answer, and closes the rest. So a mail is either
// committed and answered 250 or not committed.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.closing.Store(true)
	err := l.srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		l.log.Warn("closing sessions still open after the grace period", "error", err)
		l.closeSessions(false)
		l.inflight.Wait()
		// The sessions that were committing now write their answer; give
		// them a moment before the connection goes.
		deadline := time.Now().Add(2 * time.Second)
		for l.openSessions() > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		l.closeSessions(true)
		l.ln.closeAll() // and those that never said EHLO
		err = nil
	}
	l.inflight.Wait()
	return err
}

// closeSessions closes the open sessions' connections: all of them, or only
// those not committing a mail right now.
func (l *Listener) closeSessions(all bool) {
	l.mu.Lock()
	var conns []*smtp.Conn
	for s, c := range l.sessions {
		if all || !s.delivering {
			conns = append(conns, c)
		}
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close() // calls Logout, which forgets the session
	}
}

func (l *Listener) openSessions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sessions)
}

// Sessions is the number of connections admitted and still open, greeted
// or not.
func (l *Listener) Sessions() int { return l.ln.sessions() }

// Close closes the listener and every session at once, then waits for the
// commits under way.
func (l *Listener) Close() error {
	l.closing.Store(true)
	err := l.srv.Close()
	l.inflight.Wait()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// NewSession implements smtp.Backend.
func (l *Listener) NewSession(c *smtp.Conn) (smtp.Session, error) {
	remote := ""
	switch {
	case l.cfg.Network == "unix":
		// A socket peer has no address of its own: name the socket, so
		// that intake can tell it from a network peer (trusted relays).
		remote = "unix:" + l.cfg.Addr
	case c.Conn() != nil:
		remote = c.Conn().RemoteAddr().String()
	}
	l.cfg.Metrics.session(l.kind())
	s := &session{l: l, remote: remote, conn: sessionConnOf(c.Conn())}
	l.mu.Lock()
	l.sessions[s] = c
	l.mu.Unlock()
	return s, nil
}

func (l *Listener) kind() string {
	if l.cfg.LMTP {
		return "lmtp"
	}
	return "smtp"
}

// replied counts the reply to a command and passes the error on.
func (s *session) replied(command string, err error) error {
	code := 250
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		code = se.Code
	} else if err != nil {
		code = 554
	}
	s.l.cfg.Metrics.reply(s.l.kind(), command, code)
	return err
}

type session struct {
	l          *Listener
	remote     string
	conn       *sessionConn // nil only when go-smtp's conn is not ours
	from       string
	size       int64 // the SIZE the client declared, 0 for none
	rcpts      []string
	delivering bool // guarded by l.mu
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.l.closing.Load() {
		return s.replied("MAIL", errShutdown)
	}
	s.size = 0
	if opts != nil {
		s.size = opts.Size
	}
	// A mail that says it will not fit is told so before it is sent.
	if s.size > 0 && !s.l.budget.fits(s.size*memoryPerByte) {
		s.l.log.Info("mail refused: memory budget", "remote", s.remote, "size", s.size)
		return s.replied("MAIL", errBudget)
	}
	s.from, s.rcpts = from, nil
	return s.replied("MAIL", nil)
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.l.in.Accepts(to) {
		s.l.log.Info("recipient refused", "remote", s.remote, "rcpt", to)
		return s.replied("RCPT", errNoMailbox)
	}
	s.rcpts = append(s.rcpts, to)
	return s.replied("RCPT", nil)
}

func (s *session) Reset() { s.from, s.rcpts = "", nil }

func (s *session) Logout() error {
	s.l.mu.Lock()
	delete(s.l.sessions, s)
	s.l.mu.Unlock()
	return nil
}

// Data commits the mail before it answers 250.
func (s *session) Data(r io.Reader) error {
	return s.replied("DATA", s.deliver(r))
}

// LMTPData answers for every recipient; one commit serves them all, since
// the mail is stored once whatever it was addressed to.
func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	err := s.replied("DATA", s.deliver(r))
	for _, rcpt := range s.rcpts {
		status.SetStatus(rcpt, err)
	}
	return err
}

func (s *session) deliver(r io.Reader) error {
	if len(s.rcpts) == 0 {
		return errBadSequence
	}
	res := &reservation{b: s.l.budget}
	defer res.release()
	raw, err := readMail(r, s.size, s.l.cfg.MaxMessageBytes, res)
	if errors.Is(err, errBudget) {
		s.l.log.Info("mail refused: memory budget", "remote", s.remote, "size", len(raw), "declared", s.size)
		return errBudget
	}
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			s.l.log.Info("mail refused", "remote", s.remote, "reason", se.Message)
			return se
		}
		if s.conn != nil && s.conn.timedOut() != "" {
			// The client took too long: answer and end the session; the
			// sender still has the mail and tries again.
			s.conn.hangUp()
			if s.conn.timedOut() == "idle" {
				return errIdle
			}
			return errSessionTime
		}
		s.l.log.Warn("reading mail failed", "remote", s.remote, "error", err)
		return errTryLater
	}
	s.l.inflight.Add()
	s.l.mu.Lock()
	s.delivering = true
	s.l.mu.Unlock()
	defer func() {
		s.l.mu.Lock()
		s.delivering = false
		s.l.mu.Unlock()
		s.l.inflight.Done()
	}()
	// Not tied to shutdown: a commit under way is finished, not abandoned.
	ctx, cancel := context.WithTimeout(context.Background(), s.l.cfg.DeliverTimeout)
	defer cancel()
	transport := intake.TransportSMTP
	if s.l.cfg.LMTP {
		transport = intake.TransportLMTP
	}
	env := intake.Envelope{Transport: transport, Remote: s.remote, MailFrom: s.from, Rcpt: s.rcpts}
	if _, err := s.l.in.Deliver(ctx, env, raw); err != nil {
		reply := replyTo(err)
		s.l.log.Error("mail not committed; asked the sender to retry", "remote", s.remote, "from", s.from,
			"size", len(raw), "code", reply.Code, "error", err)
		return reply
	}
	return nil
}

// replyTo is the reply to a mail the inbound step did not commit. The
// text is ours, never the error's. A deadline is answered as maddy does,
// 451 4.4.5 (the system is congested); a temporary failure 451 4.3.0. An
// error of any other kind is a fault of ours: maddy answers that with a
// permanent 554, but here it would make the sender drop a mail that we
// have not kept (only a committed mail is kept, even a refused one), so it
// too asks for a retry, with a text that says only that it is ours.
func replyTo(err error) *smtp.SMTPError {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errTimedOut
	case errors.Is(err, intake.ErrTemporary):
		return errTryLater
	default:
		return errInternal
	}
}

// slogErrorLog routes go-smtp's own error log into slog.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l slogErrorLog) Println(v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintln(v...)))
}
