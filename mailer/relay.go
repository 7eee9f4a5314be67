package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// relay opens SMTP sessions to the configured relay. go-mail does the
// dialling, STARTTLS and AUTH; the session then drives MAIL, RCPT and DATA
// itself so that the stored (and DKIM-signed) bytes go out unchanged.
type relay struct {
	cfg Relay
	// tlsConf serves STARTTLS and implicit TLS alike: the relay's name and
	// the trusted CAs. tlsErr, when set, is why there is none (an unusable
	// CAFile): every dial then fails with it, nothing goes out.
	tlsConf *tls.Config
	tlsErr  error

	mu          sync.Mutex
	token       string // xoauth2 access token
	tokenExpiry time.Time
}

// defaultRelayTimeout bounds each step of a relay session when Relay.Timeout
// is not set.
const defaultRelayTimeout = 30 * time.Second

func newRelay(cfg Relay) *relay {
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == "implicit" {
			cfg.Port = 465
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultRelayTimeout
	}
	r := &relay{cfg: cfg}
	r.tlsConf, r.tlsErr = relayTLSConfig(cfg)
	return r
}

// implicitTLS reports whether TLS starts with the first byte (SMTPS)
// rather than with STARTTLS.
func (r *relay) implicitTLS() bool { return r.cfg.TLS == "implicit" || r.cfg.Port == 465 }

// relayTLSConfig verifies the relay's certificate against its host name and
// the system's CAs plus those of cfg.CAFile.
func relayTLSConfig(cfg Relay) (*tls.Config, error) {
	c := &tls.Config{ServerName: strings.Trim(cfg.Host, "[]"), MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := readCAFile(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	return c, nil
}

// readCAFile returns the system's certificate pool with the certificates
// of the PEM file at path added. The file must hold at least one
// certificate and nothing else.
func readCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mailer: relay CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			// Never quote the block: it may be a private key.
			return nil, fmt.Errorf("mailer: relay CA file %s: PEM block %d is a %q, not a CERTIFICATE", path, n+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("mailer: relay CA file %s: certificate %d: %v", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("mailer: relay CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// tokenLifetime is how long an xoauth2 token is reused. Providers issue
// tokens for an hour; a token refused earlier is dropped (see forgetToken).
const tokenLifetime = 5 * time.Minute

// client configures go-mail for one connection; dial is the dialer it
// will use (see session.conn).
func (r *relay) client(ctx context.Context, dial gomail.DialContextFunc) (*gomail.Client, error) {
	c := r.cfg
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(c.Timeout), gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(r.tlsConf.Clone())}
	switch {
	case r.implicitTLS():
		// SMTPS: TLS from the first byte. With its own dialer go-mail
		// leaves that to us (see dialer).
		opts = append(opts, gomail.WithSSL())
	case c.TLS == "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case c.TLS == "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if c.HELO != "" {
		opts = append(opts, gomail.WithHELO(c.HELO))
	}
	switch c.Auth {
	case "plain":
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	case "login":
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthLogin),
			gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	case "xoauth2":
		tok, err := r.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthXOAUTH2),
			gomail.WithUsername(c.Username), gomail.WithPassword(tok))
	}
	return gomail.NewClient(c.Host, opts...)
}

// accessToken runs the token command, or reuses its recent output.
func (r *relay) accessToken(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.token != "" && time.Now().Before(r.tokenExpiry) {
		return r.token, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", r.cfg.TokenCommand)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// Neither the output nor stderr is quoted in errors: either may hold
	// the token or a refresh secret.
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mailer: relay xoauth2 token command failed: %v", exitStatus(err))
	}
	tok := strings.TrimSpace(stdout.String())
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", errors.New("mailer: relay xoauth2 token command printed no single token")
	}
	r.token, r.tokenExpiry = tok, time.Now().Add(tokenLifetime)
	return tok, nil
}

func (r *relay) forgetToken() {
	r.mu.Lock()
	r.token = ""
	r.mu.Unlock()
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return "could not run it"
}

// session is one SMTP connection.
type session struct {
	c          *smtp.Client
	conn       net.Conn // the TCP (or TLS) connection under c
	timeout    time.Duration
	pipelining bool        // the relay offers PIPELINING (RFC 2920)
	stop       func() bool // detaches the abort-on-cancel hook
	// outOfStep is set when the relay may still hold a refused transaction
	// (RSET failed) or says the commands came out of order (503): the
	// session must not carry another mail.
	outOfStep bool
}

// dial connects, says EHLO, starts TLS and authenticates. Cancelling ctx
// later aborts the session, also in the middle of a command.
func (r *relay) dial(ctx context.Context) (*session, error) {
	if r.tlsErr != nil {
		return nil, r.tlsErr
	}
	s := &session{timeout: r.cfg.Timeout}
	cl, err := r.client(ctx, r.dialer(s))
	if err != nil {
		return nil, fmt.Errorf("mailer: relay %s: %w", r.addr(), err)
	}
	c, err := cl.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if s.conn != nil {
			s.conn.Close() //nolint:errcheck // go-mail leaves it open after a failed EHLO, TLS or AUTH
		}
		if r.cfg.Auth == "xoauth2" {
			r.forgetToken() // maybe expired early: fetch a fresh one next time
		}
		return nil, fmt.Errorf("mailer: relay %s: %s%w", r.addr(), r.certHint(err), err)
	}
	s.c = c
	s.pipelining, _ = c.Extension("PIPELINING")
	// smtp.Client.Close waits for the command in progress; closing the
	// connection under it ends that command at once.
	s.stop = context.AfterFunc(ctx, func() { s.conn.Close() }) //nolint:errcheck // aborting
	return s, nil
}

// dialer returns go-mail's dial function, keeping the connection in s so
// that the session can be aborted.
func (r *relay) dialer(s *session) gomail.DialContextFunc {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		d := &net.Dialer{Timeout: r.cfg.Timeout}
		var conn net.Conn
		var err error
		if r.implicitTLS() {
			td := &tls.Dialer{NetDialer: d, Config: r.tlsConf.Clone()}
			conn, err = td.DialContext(ctx, network, address)
		} else {
			conn, err = d.DialContext(ctx, network, address)
		}
		if err == nil {
			s.conn = conn
		}
		return conn, err
	}
}

func (r *relay) addr() string { return fmt.Sprintf("%s:%d", r.cfg.Host, r.cfg.Port) }

// certHint says in words why the relay's certificate was refused, as a
// prefix of the error; "" for any other error.
func (r *relay) certHint(err error) string {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownAuth) && r.cfg.CAFile != "":
		return fmt.Sprintf("the relay's certificate is signed by an authority trusted neither by this machine nor by relay.ca_file %s: ",
			r.cfg.CAFile)
	case errors.As(err, &unknownAuth):
		return "the relay's certificate is signed by an authority this machine does not trust (a private CA goes in relay.ca_file): "
	case errors.As(err, &hostErr):
		return fmt.Sprintf("the relay's certificate is not valid for the name %s: ", r.cfg.Host)
	case errors.As(err, &invalid):
		return "the relay's certificate is not valid: "
	}
	return ""
}

// send delivers raw from one sender to one recipient. After a refusal at
// any step, MAIL, RCPT, DATA or the reply to the whole mail, the
// transaction is reset (RSET): some relays (Mailpit) keep a refused mail's
// transaction open and answer the next MAIL with 503. A protocol error
// (*textproto.Error) leaves the session usable for the next mail unless
// usable says otherwise; any other error means the connection is gone.
func (s *session) send(from, to string, raw []byte) error {
	for _, addr := range []string{from, to} {
		if addr == "" || strings.ContainsAny(addr, "<>\r\n\x00") {
			// What a relay would answer; nothing went out.
			return &textproto.Error{Code: 553, Msg: fmt.Sprintf("5.1.3 address %q refused by postdesk: not a valid mailbox", addr)}
		}
	}
	// go-mail sets one deadline at dial time: extend it for every mail, or
	// a long batch would time out however healthy the relay is.
	if err := s.c.UpdateDeadline(s.timeout); err != nil {
		return err
	}
	if s.pipelining && isASCII(from) && isASCII(to) {
		return s.sendPipelined(from, to, raw)
	}
	return s.sendStepwise(from, to, raw)
}

// sendPipelined sends MAIL, RCPT and DATA in one write and reads the three
// answers together (RFC 2920): two round trips per mail instead of four,
// which is what makes a relay across a network fast enough.
func (s *session) sendPipelined(from, to string, raw []byte) error {
	tp := s.c.Text
	if _, err := tp.W.WriteString("MAIL FROM:<" + from + ">\r\nRCPT TO:<" + to + ">\r\nDATA\r\n"); err != nil {
		return err
	}
	if err := tp.W.Flush(); err != nil {
		return err
	}
	_, _, errMail := tp.ReadResponse(250)
	_, _, errRcpt := tp.ReadResponse(25)
	_, _, errData := tp.ReadResponse(354)
	for _, err := range []error{errMail, errRcpt, errData} {
		if err != nil && !isProtocolError(err) {
			return err
		}
	}
	refused := errMail
	if refused == nil {
		refused = errRcpt
	}
	if refused != nil {
		if errData == nil {
			// The relay opened DATA for a refused envelope: send an empty
			// body to close it, then forget the transaction.
			if err := tp.DotWriter().Close(); err != nil {
				return err
			}
			if _, _, err := tp.ReadResponse(250); err != nil && !isProtocolError(err) {
				return err
			}
		}
		return s.reset(refused)
	}
	if errData != nil {
		return s.reset(errData)
	}
	w := tp.DotWriter()
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if _, _, err := tp.ReadResponse(250); err != nil { // the relay's answer to the whole mail
		return s.reset(err)
	}
	return nil
}

// sendStepwise is the classic exchange, one command at a time, through
// go-mail (which adds SMTPUTF8 for non-ASCII addresses when offered).
func (s *session) sendStepwise(from, to string, raw []byte) error {
	if err := s.c.Mail("<" + from + ">"); err != nil {
		return s.reset(err)
	}
	if err := s.c.Rcpt("<" + to + ">"); err != nil {
		return s.reset(err)
	}
	w, err := s.c.Data()
	if err != nil {
		return s.reset(err)
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil { // the relay's answer to the whole mail
		return s.reset(err)
	}
	return nil
}

// reset aborts the mail transaction after a refusal, so that the next mail
// starts clean, and returns err, the refusal, as it was: that is the
// notice's fate. When the relay does not take the RSET, or its refusal was
// 503 (bad sequence of commands), the session is out of step and carries
// no further mail (see usable).
func (s *session) reset(err error) error {
	if !isProtocolError(err) {
		return err // the connection is gone
	}
	if badSequence(err) {
		s.outOfStep = true
	}
	if rerr := s.c.Reset(); rerr != nil {
		s.outOfStep = true
	}
	return err
}

// usable reports whether the session can carry another mail.
func (s *session) usable() bool { return !s.outOfStep }

// badSequence reports whether err is a 503 reply: the relay thinks our
// commands came out of order, which says nothing about the notice.
func badSequence(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp) && tp.Code == 503
}

// close says QUIT, or just drops the connection when that fails.
func (s *session) close() {
	s.stop()
	if err := s.c.Quit(); err != nil {
		s.c.Close() //nolint:errcheck // already failing
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isProtocolError reports whether err is an SMTP reply (the relay refused
// something) rather than a broken connection.
func isProtocolError(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp)
}

// verdict classifies a failed delivery: temporary (4xx, 503, network
// trouble) or permanent (other 5xx), with the text to record. A 503 (bad
// sequence of commands) is the session's trouble, not the notice's: the
// notice is tried again on a fresh connection.
func verdict(err error) (permanent bool, text string) {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 500 && tp.Code != 503, fmt.Sprintf("%d %s", tp.Code, strings.Join(strings.Fields(tp.Msg), " "))
	}
	return false, err.Error()
}
