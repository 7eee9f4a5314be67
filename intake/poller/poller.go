// Package poller fetches mail from IMAP mailboxes and hands each message to
// intake. A message is marked \Seen (or moved) only after Deliver has
// committed it, and the last committed UID is kept in the mailboxes table, so
// a crash or an outage at any point leaves the mail on the server to be read
// again; intake's dedupe makes the second reading change nothing.
//
// Several processes may poll the same database: a PostgreSQL advisory lock,
// held on a dedicated connection, makes exactly one of them active per
// mailbox, and another takes over when the holder's session ends.
package poller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/intake"
)

// Deliverer commits one raw mail. intake.Processor is the production one: it
// returns only after the mail and its outcome are committed, an error means
// nothing was, and a mail delivered twice returns Result{Duplicate: true}.
type Deliverer interface {
	Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error)
}

// TLS modes of Mailbox.TLS.
const (
	TLSImplicit = "implicit" // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // STARTTLS upgrade (port 143)
	TLSNone     = "none"     // plain text: loopback only unless AllowInsecure
)

// Authentication methods of Mailbox.Auth.
const (
	AuthLogin   = "login"
	AuthXOAUTH2 = "xoauth2"
)

// What happens to a message once it is committed (Mailbox.After).
const (
	AfterSeen = "seen" // flag \Seen
	AfterMove = "move" // move to Mailbox.MoveTo
)

// DefaultPollInterval is the pause between polls when IDLE is off or not
// offered by the server.
const DefaultPollInterval = 30 * time.Second

// Mailbox is one IMAP mailbox to poll.
type Mailbox struct {
	// ID is the mailbox's row in the mailboxes table; 0 looks it up by Name
	// (the organisation must have been synced first).
	ID      int64
	Name    string
	Address string // shown in logs

	Host          string
	Port          int
	TLS           string      // TLSImplicit, TLSStartTLS or TLSNone
	AllowInsecure bool        // allow TLSNone to a host that is not loopback
	TLSConfig     *tls.Config // nil: system roots, server name Host

	Username string
	Password string // for AuthLogin; never logged
	Auth     string // AuthLogin (default) or AuthXOAUTH2
	// For AuthXOAUTH2 exactly one of TokenCommand (run with sh -c, its
	// standard output is the access token) and TokenFile; read again on
	// every connect so that a refreshed token is picked up.
	TokenCommand string
	TokenFile    string

	Folder string // default INBOX
	After  string // AfterSeen (default) or AfterMove
	MoveTo string // the folder for AfterMove
	// PollInterval is the pause between polls (default 30 s). With IDLE it
	// is the longest wait before looking again anyway.
	PollInterval time.Duration
	IDLE         bool // wait with IDLE when the server offers it
}

// LogValue keeps credentials out of logs when a Mailbox is logged whole.
func (m Mailbox) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", m.Name), slog.String("address", m.Address), slog.String("host", m.Host),
		slog.Int("port", m.Port), slog.String("user", m.Username), slog.String("folder", m.Folder))
}

// String keeps credentials out of fmt output.
func (m Mailbox) String() string {
	return fmt.Sprintf("imap mailbox %s <%s> (%s at %s:%d, folder %s)", m.Name, m.Address, m.Username, m.Host, m.Port,
		m.Folder)
}

// GoString keeps credentials out of %#v.
func (m Mailbox) GoString() string { return m.String() }

// States of MailboxStatus.State.
const (
	StateStandby    = "standby"    // another process holds the mailbox, or the lock is not taken yet
	StateConnecting = "connecting" // connecting and logging in to the IMAP server
	StateIdle       = "idle"       // waiting for new mail (IDLE or between polls)
	StatePolling    = "polling"    // fetching and committing messages
	StateError      = "error"      // the last attempt failed; retrying after a pause
)

// MailboxStatus is what health checks and metrics see of one mailbox.
type MailboxStatus struct {
	Name     string
	Active   bool // this process holds the mailbox's lock
	State    string
	LastPoll time.Time // end of the last complete poll
	// LastError is the last failure in plain words, fit to show to anyone:
	// what failed, without what a server or a token helper said (the log
	// has that). A complete poll clears it.
	LastError  string
	lastDetail string // the whole error, to log the same failure once
	Backlog    int    // messages found and not yet committed in the current poll
	// TokenFailures counts failed attempts to get an XOAUTH2 access token.
	TokenFailures int
}

// Poller polls a set of IMAP mailboxes. Make one with New and start it with
// Run; Status may be called at any time from any goroutine.
type Poller struct {
	pool  *pgxpool.Pool
	d     Deliverer
	boxes []Mailbox
	log   *slog.Logger
	t     timing

	mu     sync.Mutex
	status []MailboxStatus

	// tookLock, when set, is called as this process takes a mailbox's lock,
	// before it touches the mailbox: tests number that moment.
	tookLock func(mailbox string)
}

// timing holds the pauses of the poller; tests shorten them.
type timing struct {
	standbyRetry time.Duration // between attempts to take a held lock
	lockCheck    time.Duration // between checks that the lock's session is alive while waiting
	backoffMin   time.Duration
	backoffMax   time.Duration
	idleRestart  time.Duration // servers drop IDLE after 30 minutes (RFC 9051)
	finish       time.Duration // allowed to finish the current message after shutdown
}

func defaultTiming() timing {
	return timing{standbyRetry: 5 * time.Second, lockCheck: 15 * time.Second, backoffMin: time.Second,
		backoffMax: 5 * time.Minute, idleRestart: 25 * time.Minute, finish: time.Minute}
}

// New checks the mailboxes and returns a poller for them. pool holds the
// mailboxes table and the advisory locks; d commits the messages.
func New(pool *pgxpool.Pool, d Deliverer, boxes []Mailbox, log *slog.Logger) (*Poller, error) {
	if pool == nil || d == nil {
		return nil, errors.New("poller: a pool and a Deliverer are required")
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Poller{pool: pool, d: d, log: log, t: defaultTiming()}
	seen := map[string]bool{}
	for _, m := range boxes {
		m, err := normalize(m)
		if err != nil {
			return nil, err
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("poller: mailbox %s is listed twice", m.Name)
		}
		seen[m.Name] = true
		p.boxes = append(p.boxes, m)
		p.status = append(p.status, MailboxStatus{Name: m.Name, State: StateStandby})
	}
	return p, nil
}

// normalize fills defaults and rejects settings that cannot work or that
// would send credentials in the clear.
func normalize(m Mailbox) (Mailbox, error) {
	bad := func(format string, args ...any) (Mailbox, error) {
		return m, fmt.Errorf("poller: mailbox %s: %s", m.Name, fmt.Sprintf(format, args...))
	}
	if m.Name == "" {
		return m, errors.New("poller: a mailbox has no name")
	}
	if m.Host == "" || m.Port <= 0 || m.Port > 65535 {
		return bad("host and port are required")
	}
	if m.TLS == "" {
		m.TLS = TLSImplicit
	}
	switch m.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if !m.AllowInsecure && !isLoopback(m.Host) {
			return bad("plain IMAP to %s would send the password in the clear: use TLS, or allow it explicitly", m.Host)
		}
	default:
		return bad("unknown TLS mode %q", m.TLS)
	}
	if m.Auth == "" {
		m.Auth = AuthLogin
	}
	switch m.Auth {
	case AuthLogin:
	case AuthXOAUTH2:
		if (m.TokenCommand == "") == (m.TokenFile == "") {
			return bad("xoauth2 needs exactly one of a token command and a token file")
		}
	default:
		return bad("unknown authentication %q", m.Auth)
	}
	if m.Username == "" {
		return bad("a username is required")
	}
	if m.Folder == "" {
		m.Folder = "INBOX"
	}
	if m.After == "" {
		m.After = AfterSeen
	}
	switch m.After {
	case AfterSeen:
	case AfterMove:
		if m.MoveTo == "" || strings.EqualFold(m.MoveTo, m.Folder) {
			return bad("moving needs a folder other than %s", m.Folder)
		}
	default:
		return bad("unknown action after fetch %q", m.After)
	}
	if m.PollInterval <= 0 {
		m.PollInterval = DefaultPollInterval
	}
	return m, nil
}

// isLoopback reports whether host names this machine. Other names are not
// resolved: a DNS answer is no proof that the traffic stays local.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Run polls every mailbox until ctx ends, each in its own goroutine, so that
// one failing mailbox never holds up another. It returns nil once all have
// stopped; a mailbox busy with a message finishes committing and flagging it
// first. Failures are retried, never returned: see Status and the log.
func (p *Poller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range p.boxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.supervise(ctx, i)
		}()
	}
	wg.Wait()
	return nil
}

// Status reports every mailbox, in the order given to New.
func (p *Poller) Status() []MailboxStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]MailboxStatus(nil), p.status...)
}

func (p *Poller) update(i int, f func(*MailboxStatus)) {
	p.mu.Lock()
	f(&p.status[i])
	p.mu.Unlock()
}

func (p *Poller) setState(i int, state string) {
	p.update(i, func(s *MailboxStatus) { s.State = state })
}
