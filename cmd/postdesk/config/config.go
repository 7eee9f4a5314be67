// Package config loads and checks postdesk's YAML configuration file.
//
// Load decodes the file through yaml.Node so that every problem can be
// reported with its line and column, applies defaults, validates values and
// cross-references, and resolves secrets from the environment. Secrets never
// live in the file: `*_env` keys name the environment variable that holds them.
package config

import (
	"log/slog"
	"net/netip"
	"time"
)

// Config is a loaded, defaulted and validated configuration.
// Names that reference other entries (departments, help topics) are
// rewritten to the spelling of the entry they refer to.
type Config struct {
	File         string // absolute path of the loaded file
	Organisation Organisation
	Database     Database
	Tickets      Tickets
	Departments  []Department
	Agents       []Agent
	HelpTopics   []HelpTopic
	Mailboxes    []Mailbox
	Listen       Listen
	Relay        Relay
	Templates    Templates
	Filters      []Filter
	Ban          []string // lower-case addresses and "@domain" entries
	AgentMail    AgentMail
	Log          Log
	Web          Web
	// MissingSecrets names the unset `*_env` variables of a load with
	// LoadOptions.SecretsOptional, in file order; their Secrets are empty.
	// Always empty after Load, which refuses them.
	MissingSecrets []string
}

// Web configures the agents' web console, served on listen.http.
type Web struct {
	// BaseURL is the console's public URL (scheme and host, no path), used
	// in the links postdesk prints and mails; the cookie is Secure when it
	// is https. Defaults to http://listen.http.
	BaseURL         string
	SessionLifetime time.Duration // a session ends this long after sign-in
	SessionIdle     time.Duration // or this long after its last request
	// Sign-in attempts (passwords tried, links asked for) allowed per
	// address and per client address in each SignInWindow.
	SignInPerAddress int
	SignInPerClient  int
	SignInWindow     time.Duration
}

// Organisation names the help desk in notices and in its own Message-IDs.
type Organisation struct {
	Name            string
	WebURL          string // http(s) URL for ticket links; empty when unset
	MessageIDDomain string // lower case
}

// Database holds the PostgreSQL settings. The URL comes from the
// environment only; Load does not fail when it is missing (see URLMissing).
type Database struct {
	URLEnv         string // environment variable holding the URL
	URL            Secret `json:"-"`
	MigrateOnStart bool
	MaxConns       int
}

// URLMissing reports whether the database URL environment variable was unset
// or empty. `postdesk config check` can run without a database; the server
// cannot.
func (d Database) URLMissing() bool { return d.URL == "" }

// Tickets configures ticket numbers and the reply-address signing key.
type Tickets struct {
	NumberLength   int
	NumberPrefix   string
	SubjectToken   string // contains "{number}" exactly once
	ReplySecretEnv string
	ReplySecret    Secret `json:"-"` // at least 16 bytes
	// MaxCollaborators caps how many addresses of a customer's Cc become
	// collaborators of one ticket; the others are listed in a note.
	MaxCollaborators int
}

// Department is a group of agents that tickets are routed to.
type Department struct {
	Name         string
	Email        string // optional group address for alerts
	Notices      Notices
	TemplatesDir string // absolute; empty when unset
}

// Notices switches the department's automatic notices on or off.
type Notices struct {
	CustomerAck      bool
	CustomerReply    bool
	CustomerResolved bool
	CustomerClosed   bool
	AgentNewTicket   bool
	AgentNewMessage  bool
	AgentAssigned    bool
	AgentTransfer    bool
	AgentNote        bool
	AgentResolved    bool
}

// Agent is a person who works on tickets.
type Agent struct {
	Name        string
	Email       string
	Username    string   // lower case; defaults to the local part of Email
	Departments []string // canonical department names, at least one
	Active      bool
}

// HelpTopic routes a mailbox or filter to a department with a priority.
type HelpTopic struct {
	Name       string
	Department string // canonical department name
	Priority   Priority
}

// Mailbox is an address that mail for the help desk arrives at.
// Department and Priority are the effective values: when the file leaves
// them out they come from HelpTopic (and Priority finally defaults to normal).
type Mailbox struct {
	Name        string
	Address     string
	DisplayName string
	Kind        MailboxKind
	Department  string // canonical department name
	HelpTopic   string // canonical help topic name; empty when unset
	Priority    Priority
	MachineMail MachineMail // what becomes of mail a machine flagged (Auto-Submitted, Precedence, List-Id)
	IMAP        *IMAP       // set exactly when Kind is KindIMAP
}

// IMAP holds how to poll an IMAP mailbox.
type IMAP struct {
	Host              string
	Port              int
	TLS               IMAPTLS
	AllowInsecure     bool
	Username          string
	Auth              IMAPAuth
	PasswordEnv       string
	Password          Secret `json:"-"` // set for AuthLogin
	OAuthTokenCommand string // for AuthXOAUTH2: exactly one of command and file
	OAuthTokenFile    string // absolute
	Folder            string
	After             AfterFetch
	MoveTo            string // set for AfterMove
	PollInterval      time.Duration
	IDLE              bool
}

// Listen configures the inbound SMTP/LMTP listeners and the HTTP endpoint.
type Listen struct {
	SMTP           string // host:port; empty when off
	LMTP           string // host:port or "unix:/absolute/path"; empty when off
	HTTP           string // host:port; empty when off
	Hostname       string // greeting name
	MaxMessageSize int64  // bytes
	// MemoryBudget bounds the memory of the mails taken in at once, over
	// all listeners; a mail over it gets 451 4.3.1 (bytes; default 16 ×
	// MaxMessageSize, at least 256 MiB).
	MemoryBudget int64
	// IdleTimeout is the longest wait for a client's next bytes, in a
	// command or in a message (key idle_timeout, formerly read_timeout);
	// SessionTimeout bounds a whole session.
	IdleTimeout    time.Duration
	SessionTimeout time.Duration
	WriteTimeout   time.Duration
	MaxRecipients  int
	// MaxSessions caps the SMTP/LMTP sessions open at once, per listener;
	// MaxSessionsPerIP those from one client address. Over a cap a
	// connection is answered 421 4.7.0.
	MaxSessions      int
	MaxSessionsPerIP int
	TLSCert          string // absolute; both or neither of TLSCert and TLSKey
	TLSKey           string
	ShutdownGrace    time.Duration
	// Postmaster is the address of the mailbox that mail to postmaster at
	// the mailboxes' domains goes to (RFC 5321 §4.5.1); lower case; empty:
	// such mail is accepted and kept in quarantine.
	Postmaster string
}

// Relay is the outbound SMTP relay that notices are sent through.
type Relay struct {
	Host              string
	Port              int // default 587, 465 with TLS implicit
	TLS               RelayTLS
	CAFile            string // absolute; PEM CA certificates trusted besides the system's; empty when unset
	Auth              RelayAuth
	Username          string
	PasswordEnv       string
	Password          Secret `json:"-"` // set for plain and login
	OAuthTokenCommand string // set for xoauth2
	HELO              string
	Timeout           time.Duration
	DKIM              *DKIM // nil when signing is off
	AutoReplyLimit    int   // automatic mails per recipient address per hour
	Retry             RelayRetry
}

// RelayRetry is the schedule of new attempts after a temporary failure (a
// 4xx reply, the relay unreachable): the n-th wait is First × Factor^(n-1),
// at most MaxDelay (give or take 10%), and a notice whose MaxAttempts-th
// attempt fails too is given up and recorded failed on its ticket.
type RelayRetry struct {
	First       time.Duration
	Factor      float64 // at least 1
	MaxDelay    time.Duration
	MaxAttempts int
}

// DKIM configures signing of outgoing mail. PrivateKeyFile has been checked
// to hold a PEM RSA or Ed25519 private key; the key itself is not kept here
// so that printing a Config can never leak it.
type DKIM struct {
	Domain         string
	Selector       string
	PrivateKeyFile string // absolute
}

// Templates points at an optional directory of notice template overrides.
type Templates struct {
	Dir string // absolute; empty when unset
}

// AgentMail decides how far mail from agent addresses is trusted.
type AgentMail struct {
	AuthservID string // trusted Authentication-Results authserv-id; empty trusts none
	// TrustedRelays are the SMTP/LMTP peers whose Authentication-Results
	// are believed; none by default. TrustSocket: "unix" was listed, the
	// peers of the LMTP unix socket.
	TrustedRelays   []netip.Prefix
	TrustSocket     bool
	Unauthenticated Unauthenticated
}

// Log configures the slog handler.
type Log struct {
	Format LogFormat
	Level  slog.Level // one of debug, info, warn, error
}
