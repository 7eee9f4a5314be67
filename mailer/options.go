// Package mailer renders the notices that ticket changes cause and
// delivers them.
//
// The Notifier runs inside the transaction of a ticket change (it
// implements ticket.Notifier): the ticket/notice planner decides who is told
// what, and the notifier stores each notice in the ticket outbox with its
// own Message-ID, sender, recipient, subject and thread, and a draft of
// what it says. That outbox row is the queue entry and the record of the
// mail: a change that rolls back leaves no row and sends nothing; a change
// that commits leaves a pending row that a Worker delivers, also after a
// crash or a restart.
//
// Workers (any number, in any number of processes) claim pending notices
// through the outbox API (FOR UPDATE SKIP LOCKED), render the drafts among
// them from the templates into complete MIME messages (stored in place of
// the draft, so that a retry sends the same bytes), send a batch over one
// SMTP connection, and record each outcome: sent; retried later with
// exponential backoff after a temporary failure; or failed, together with
// a delivery_failed event on the ticket, after a permanent one.
package mailer

import (
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket/notice"
)

// Options configures the notifier and the workers. The lead maps the
// configuration file onto it; zero values of optional fields take the
// defaults documented on each field.
type Options struct {
	OrgName         string
	WebURL          string // base URL of ticket links; empty: no links
	MessageIDDomain string // right-hand side of our Message-IDs
	ReplySecret     []byte // master key of the signed reply addresses (ticket.ReplyKey)
	// Mailboxes maps each of our lower-case mailbox addresses to its display
	// name. Notices never go to these addresses.
	Mailboxes map[string]string
	// DefaultFrom is the From address of notices for tickets without a
	// mailbox; empty: the alphabetically first mailbox.
	DefaultFrom string
	// Departments holds the notice switches by lower-case department name;
	// a department missing here gets notice.DefaultSwitches.
	Departments map[string]Notices
	Templates   *templates.Set
	// AutoReplyLimit caps the automatic mails to one customer address per
	// hour, so that a loop with another autoresponder stops by itself.
	// 0: 10; negative: no cap.
	AutoReplyLimit int
	// MaxAttachmentBytes caps the attachments copied into one notice; a
	// message with more only lists their names. 0: 10 MiB; negative: never.
	MaxAttachmentBytes int64
	Relay              Relay
	DKIM               *DKIM // nil: no signing
	Queue              Queue
	Logger             *slog.Logger // nil: discard
}

// Notices switches a department's notices on or off: the switches of the
// ticket/notice policy.
type Notices = notice.Switches

// Relay is the SMTP server notices are handed to.
type Relay struct {
	Host string
	Port int // 0: 587, or 465 with TLS "implicit"; 465 always means implicit TLS (SMTPS)
	// TLS is "mandatory" (STARTTLS required, the default), "opportunistic"
	// (STARTTLS when offered, clear text when not), "implicit" (TLS from
	// the first byte, as on port 465) or "none". Whenever TLS is used the
	// relay's certificate must be valid for Host and trusted: a failed
	// verification never falls back to clear text, not even when
	// opportunistic.
	TLS string
	// CAFile is a PEM file of CA certificates trusted for the relay's
	// certificate in addition to the system's (a private CA, or the relay's
	// own self-signed certificate); empty: the system's only.
	CAFile string
	// Auth is "none" (default), "plain", "login" or "xoauth2".
	Auth         string
	Username     string
	Password     string        // plain and login
	TokenCommand string        // xoauth2: a shell command printing the access token
	HELO         string        // empty: the host name
	Timeout      time.Duration // per connection step; 0: 30 s
}

// DKIM signs outgoing notices.
type DKIM struct {
	Domain   string
	Selector string
	Signer   crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
}

// Queue tunes the workers. After a temporary failure (a 4xx reply, the
// relay unreachable) the n-th wait is RetryBase × RetryFactor^(n-1), at
// most RetryMax, give or take 10%; the notice fails for good, on its
// ticket, when MaxAttempts attempts have failed.
type Queue struct {
	BatchSize    int           // notices per claim and SMTP connection; 0: 50
	PollInterval time.Duration // fallback when a notification is missed; 0: 1 s
	RetryBase    time.Duration // first retry delay; 0: 1 min
	RetryFactor  float64       // each retry delay is the previous one times this, at least 1; 0: 2
	RetryMax     time.Duration // longest retry delay; 0: 1 h
	MaxAttempts  int           // attempts before giving up; 0: 25 (about a day)
}

func (q Queue) withDefaults() Queue {
	if q.BatchSize <= 0 {
		q.BatchSize = 50
	}
	if q.PollInterval <= 0 {
		q.PollInterval = time.Second
	}
	if q.RetryBase <= 0 {
		q.RetryBase = time.Minute
	}
	if q.RetryFactor <= 0 {
		q.RetryFactor = 2
	}
	if q.RetryMax <= 0 {
		q.RetryMax = time.Hour
	}
	if q.RetryMax < q.RetryBase {
		q.RetryMax = q.RetryBase
	}
	if q.MaxAttempts <= 0 {
		q.MaxAttempts = 25
	}
	return q
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o Options) autoReplyLimit() int {
	if o.AutoReplyLimit == 0 {
		return 10
	}
	return o.AutoReplyLimit
}

func (o Options) maxAttachmentBytes() int64 {
	if o.MaxAttachmentBytes == 0 {
		return 10 << 20
	}
	return o.MaxAttachmentBytes
}

// planner is the notice policy these options configure.
func (o Options) planner() *notice.Planner {
	boxes := make([]string, 0, len(o.Mailboxes))
	for addr := range o.Mailboxes {
		boxes = append(boxes, addr)
	}
	return notice.NewPlanner(o.Departments, boxes)
}

// Check reports every problem of the options at once.
func (o Options) Check() error {
	return errors.Join(o.checkNotifier(), o.checkRelay(), o.Queue.check())
}

// check reports retry settings that withDefaults would not make sense of.
func (q Queue) check() error {
	var errs []error
	if q.RetryFactor != 0 && !(q.RetryFactor >= 1) { // also NaN
		errs = append(errs, fmt.Errorf("mailer: retry factor %g: want at least 1 (1: the same wait every time)", q.RetryFactor))
	}
	if q.RetryBase < 0 || q.RetryMax < 0 {
		errs = append(errs, errors.New("mailer: retry delays must not be negative"))
	}
	if q.RetryBase > 0 && q.RetryMax > 0 && q.RetryMax < q.RetryBase {
		errs = append(errs, fmt.Errorf("mailer: longest retry delay %s is shorter than the first, %s", q.RetryMax, q.RetryBase))
	}
	if q.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("mailer: max attempts %d is negative", q.MaxAttempts))
	}
	return errors.Join(errs...)
}

func (o Options) checkNotifier() error {
	var errs []error
	if o.MessageIDDomain == "" || strings.ContainsAny(o.MessageIDDomain, "<>@ \t\r\n") {
		errs = append(errs, fmt.Errorf("mailer: message ID domain %q is not a domain name", o.MessageIDDomain))
	}
	if len(o.ReplySecret) < 16 {
		errs = append(errs, errors.New("mailer: the reply secret must be at least 16 bytes"))
	}
	if o.Templates == nil {
		errs = append(errs, errors.New("mailer: no templates loaded"))
	}
	if len(o.Mailboxes) == 0 && o.DefaultFrom == "" {
		errs = append(errs, errors.New("mailer: no mailbox to send notices from"))
	}
	for addr := range o.Mailboxes {
		if addr != strings.ToLower(addr) {
			errs = append(errs, fmt.Errorf("mailer: mailbox %q must be given in lower case", addr))
		}
		if _, err := mail.ParseAddress(addr); err != nil {
			errs = append(errs, fmt.Errorf("mailer: mailbox %q: %w", addr, err))
		}
	}
	if o.DefaultFrom != "" {
		if _, err := mail.ParseAddress(o.DefaultFrom); err != nil {
			errs = append(errs, fmt.Errorf("mailer: default from %q: %w", o.DefaultFrom, err))
		}
	}
	for name := range o.Departments {
		if name != strings.ToLower(name) {
			errs = append(errs, fmt.Errorf("mailer: department key %q must be lower case", name))
		}
	}
	return errors.Join(errs...)
}

func (o Options) checkRelay() error {
	r := o.Relay
	var errs []error
	if r.Host == "" {
		errs = append(errs, errors.New("mailer: relay host is empty"))
	}
	if r.Port < 0 || r.Port > 65535 {
		errs = append(errs, fmt.Errorf("mailer: relay port %d is out of range", r.Port))
	}
	switch r.TLS {
	case "", "mandatory", "opportunistic", "implicit", "none":
	default:
		errs = append(errs, fmt.Errorf("mailer: relay TLS %q: want mandatory, opportunistic, implicit or none", r.TLS))
	}
	if r.CAFile != "" {
		if _, err := readCAFile(r.CAFile); err != nil {
			errs = append(errs, err)
		}
	}
	switch r.Auth {
	case "", "none":
	case "plain", "login":
		if r.Username == "" || r.Password == "" {
			errs = append(errs, fmt.Errorf("mailer: relay auth %s needs a username and a password", r.Auth))
		}
	case "xoauth2":
		if r.Username == "" || r.TokenCommand == "" {
			errs = append(errs, errors.New("mailer: relay auth xoauth2 needs a username and a token command"))
		}
	default:
		errs = append(errs, fmt.Errorf("mailer: relay auth %q: want none, plain, login or xoauth2", r.Auth))
	}
	if d := o.DKIM; d != nil {
		if d.Domain == "" || d.Selector == "" || d.Signer == nil {
			errs = append(errs, errors.New("mailer: DKIM needs a domain, a selector and a key"))
		} else if _, err := newDKIMSigner(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
