package poller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
	"github.com/sethvargo/go-retry"
)

// dialTimeout bounds connecting and the TLS handshake.
const dialTimeout = 30 * time.Second

var errConnClosed = fail("the IMAP server closed the connection", errors.New("poller: the IMAP server closed the connection"))

// session is one IMAP connection of an active mailbox.
type session struct {
	p    *Poller
	i    int
	box  Mailbox
	log  *slog.Logger
	lock *lockConn
	c    *imapclient.Client
	// newMail is signalled by the client's reader goroutine on EXISTS.
	newMail chan struct{}
	// warnedExpunge: the no-UIDPLUS warning is logged once per connection.
	warnedExpunge bool
}

// session connects, selects the folder and polls until ctx ends (nil) or
// something fails (the error).
func (p *Poller) session(ctx context.Context, i int, l *lockConn, log *slog.Logger, bo *retry.Backoff) error {
	s := &session{p: p, i: i, box: p.boxes[i], log: log, lock: l, newMail: make(chan struct{}, 1)}
	p.setState(i, StateConnecting)
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	s.c = c
	defer s.logout()
	if err := s.login(ctx); err != nil {
		return err
	}
	if err := s.selectFolder(ctx); err != nil {
		return err
	}
	useIdle := s.box.IDLE && c.Caps().Has(imap.CapIdle)
	for {
		// Mail announced before this point is found by the poll itself.
		select {
		case <-s.newMail:
		default:
		}
		p.setState(i, StatePolling)
		failed, err := s.poll(ctx)
		if err != nil {
			return err
		}
		var recovered bool
		p.update(i, func(st *MailboxStatus) {
			st.LastPoll, st.Backlog = time.Now(), failed
			if failed == 0 {
				recovered, st.LastError, st.lastDetail = st.LastError != "", "", ""
			}
		})
		if recovered {
			s.log.Info("the mailbox is polled again without errors")
		}
		*bo = p.reconnectBackoff() // the next failure waits the least again
		if ctx.Err() != nil {
			return nil
		}
		if useIdle {
			// IDLE brings new mail at once; the poll interval still bounds
			// the wait, because a server may fail to report mail that
			// arrived just before IDLE began (go-imap's server does), and
			// a message that failed is due for another try.
			err = s.idle(ctx, min(p.t.idleRestart, s.box.PollInterval))
		} else {
			p.setState(i, StateIdle)
			err = p.wait(ctx, l, nil, c.Closed(), s.box.PollInterval)
		}
		if err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// dial connects as the mailbox asks. The connection is made here rather
// than by imapclient's Dial* so that ctx can interrupt it.
func (s *session) dial(ctx context.Context) (*imapclient.Client, error) {
	addr := net.JoinHostPort(s.box.Host, strconv.Itoa(s.box.Port))
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fail("cannot connect to the IMAP server", fmt.Errorf("poller: connect to %s: %w", addr, err))
	}
	tlsConfig := &tls.Config{}
	if s.box.TLSConfig != nil {
		tlsConfig = s.box.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = s.box.Host
	}
	opts := &imapclient.Options{
		TLSConfig:   tlsConfig,
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Runs on the client's reader goroutine: only signal.
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case s.newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var c *imapclient.Client
	switch s.box.TLS {
	case TLSImplicit:
		if tlsConfig.NextProtos == nil {
			tlsConfig.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fail(tlsWords(err), fmt.Errorf("poller: TLS with %s: %w", addr, err))
		}
		c = imapclient.New(tc, opts)
	case TLSStartTLS:
		// NewStartTLS refuses a PREAUTH greeting on the plain connection.
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			return nil, fail("STARTTLS: "+tlsWords(err), fmt.Errorf("poller: STARTTLS with %s: %w", addr, err))
		}
	default:
		c = imapclient.New(conn, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fail("the IMAP server sent no greeting", fmt.Errorf("poller: greeting from %s: %w", addr, err))
	}
	return c, nil
}

// login authenticates with LOGIN or XOAUTH2.
func (s *session) login(ctx context.Context) error {
	caps := s.c.Caps()
	switch s.box.Auth {
	case AuthXOAUTH2:
		if !hasAuth(caps, "XOAUTH2") {
			return fail("the IMAP server does not offer XOAUTH2 login",
				fmt.Errorf("poller: %s does not offer AUTH=XOAUTH2 (it offers %v)", s.box.Host, caps.AuthMechanisms()))
		}
		token, err := readToken(ctx, s.box)
		if err != nil {
			// Loud on purpose: an expired refresh token needs a person.
			s.log.Error("cannot get an OAuth access token for the mailbox", "error", err)
			s.p.update(s.i, func(st *MailboxStatus) { st.TokenFailures++ })
			return err
		}
		if err := s.c.Authenticate(newXOAUTH2(s.box.Username, token)); err != nil {
			return fail(refusedOr(err, "XOAUTH2 login refused by the IMAP server", "XOAUTH2 login to the IMAP server failed"),
				fmt.Errorf("poller: XOAUTH2 as %s: %w", s.box.Username, err))
		}
	default:
		if caps.Has(imap.CapLoginDisabled) {
			return fail("the IMAP server refuses login without TLS",
				fmt.Errorf("poller: %s refuses LOGIN on this connection (LOGINDISABLED): use TLS", s.box.Host))
		}
		if err := s.c.Login(s.box.Username, s.box.Password).Wait(); err != nil {
			return fail(refusedOr(err, "login refused by the IMAP server", "login to the IMAP server failed"),
				fmt.Errorf("poller: login as %s: %w", s.box.Username, err))
		}
	}
	return nil
}

func hasAuth(caps imap.CapSet, mech string) bool {
	for _, m := range caps.AuthMechanisms() {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

// selectFolder selects the folder and compares its UIDVALIDITY with the
// stored one: a new value means the UIDs were reassigned, so the whole
// folder is read again and intake's dedupe absorbs what was committed before.
func (s *session) selectFolder(ctx context.Context) error {
	data, err := s.c.Select(s.box.Folder, nil).Wait()
	if err != nil {
		return fail("cannot open the folder "+s.box.Folder, fmt.Errorf("poller: select %s: %w", s.box.Folder, err))
	}
	if data.UIDValidity == 0 {
		return fail("the IMAP server sent no UIDVALIDITY for the folder "+s.box.Folder,
			fmt.Errorf("poller: %s sent no UIDVALIDITY for %s", s.box.Host, s.box.Folder))
	}
	if data.UIDValidity != s.lock.validity {
		if s.lock.validity != 0 {
			s.log.Warn("the folder's UIDVALIDITY changed: reading it all again; mail committed before is recognised",
				"folder", s.box.Folder, "old", s.lock.validity, "new", data.UIDValidity)
		}
		if err := s.lock.save(ctx, data.UIDValidity, 0); err != nil {
			return err
		}
	}
	if s.box.After == AfterMove {
		return s.ensureFolder(s.box.MoveTo)
	}
	return nil
}

// ensureFolder creates the folder processed mail is moved to, if missing.
func (s *session) ensureFolder(name string) error {
	found, err := s.c.List("", name, nil).Collect()
	if err != nil {
		return fail("cannot look for the folder "+name, fmt.Errorf("poller: list %s: %w", name, err))
	}
	if len(found) > 0 {
		return nil
	}
	if err := s.c.Create(name, nil).Wait(); err != nil {
		return fail("cannot create the folder "+name, fmt.Errorf("poller: create %s: %w", name, err))
	}
	s.log.Info("created the folder for processed mail", "folder", name)
	return nil
}

// idle waits with IDLE until new mail is announced, ctx ends, d passes
// (servers drop IDLE after 30 minutes) or something fails.
func (s *session) idle(ctx context.Context, d time.Duration) error {
	// Some servers (go-imap's imapserver) report mail that arrived before
	// IDLE only in answer to a command, not when IDLE starts: NOOP collects
	// it, and the EXISTS handler signals newMail.
	if err := s.c.Noop().Wait(); err != nil {
		return fail("the IMAP connection failed while waiting for mail", fmt.Errorf("poller: NOOP: %w", err))
	}
	cmd, err := s.c.Idle()
	if err != nil {
		return fail("the IMAP connection failed while waiting for mail", fmt.Errorf("poller: IDLE: %w", err))
	}
	// Idle only now: the server has acknowledged IDLE and reports new mail.
	s.p.setState(s.i, StateIdle)
	werr := s.p.wait(ctx, s.lock, s.newMail, s.c.Closed(), d)
	if errors.Is(werr, errConnClosed) {
		return werr
	}
	if err := cmd.Close(); err != nil && werr == nil {
		werr = fail("the IMAP connection failed while waiting for mail", fmt.Errorf("poller: end IDLE: %w", err))
	}
	if err := cmd.Wait(); err != nil && werr == nil {
		werr = fail("the IMAP connection failed while waiting for mail", fmt.Errorf("poller: IDLE: %w", err))
	}
	return werr
}

// logout says goodbye, without waiting long for a server that is gone.
func (s *session) logout() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.c.Logout().Wait()
	}()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	_ = s.c.Close()
	<-done
}
