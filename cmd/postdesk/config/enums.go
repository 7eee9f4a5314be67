package config

// Priority is a ticket priority.
type Priority string

// Ticket priorities, lowest first.
const (
	PriorityLow       Priority = "low"
	PriorityNormal    Priority = "normal"
	PriorityHigh      Priority = "high"
	PriorityEmergency Priority = "emergency"
)

var priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityEmergency}

// MailboxKind says how mail reaches a mailbox.
type MailboxKind string

// Mailbox kinds.
const (
	KindSMTP MailboxKind = "smtp" // delivered to our SMTP/LMTP listener
	KindIMAP MailboxKind = "imap" // polled from an IMAP server
)

// MachineMail is what becomes of mail that a machine flagged as not
// written by a person (Auto-Submitted other than "no", Precedence: bulk or
// list, List-Id) and that is no auto-reply, bounce or feedback report.
type MachineMail string

// Machine-flagged mail policies.
const (
	MachineMailTicket     MachineMail = "ticket"     // opens or joins a ticket, with no automatic answer (RFC 3834)
	MachineMailQuarantine MachineMail = "quarantine" // kept in quarantine, replayable
)

// IMAPTLS is how the IMAP connection is secured.
type IMAPTLS string

// IMAP TLS modes.
const (
	IMAPImplicit IMAPTLS = "implicit" // TLS from the first byte (port 993)
	IMAPStartTLS IMAPTLS = "starttls" // STARTTLS upgrade (port 143)
	IMAPNoTLS    IMAPTLS = "none"     // plain text; loopback only unless AllowInsecure
)

// IMAPAuth is how postdesk logs in to an IMAP server.
type IMAPAuth string

// IMAP authentication methods.
const (
	IMAPLogin   IMAPAuth = "login"
	IMAPXOAUTH2 IMAPAuth = "xoauth2"
)

// AfterFetch is what happens to an IMAP message once it is stored.
type AfterFetch string

// Actions after a message has been committed.
const (
	AfterSeen AfterFetch = "seen" // flag \Seen
	AfterMove AfterFetch = "move" // move to IMAP.MoveTo
)

// RelayTLS is the TLS policy towards the outbound relay.
type RelayTLS string

// Relay TLS policies.
const (
	RelayMandatory     RelayTLS = "mandatory"     // STARTTLS required
	RelayOpportunistic RelayTLS = "opportunistic" // STARTTLS when offered, clear text when not
	RelayImplicit      RelayTLS = "implicit"      // TLS from the first byte (port 465 always is)
	RelayNoTLS         RelayTLS = "none"
)

// RelayAuth is how postdesk authenticates to the relay.
type RelayAuth string

// Relay authentication methods.
const (
	RelayAuthNone    RelayAuth = "none"
	RelayAuthPlain   RelayAuth = "plain"
	RelayAuthLogin   RelayAuth = "login"
	RelayAuthXOAUTH2 RelayAuth = "xoauth2"
)

// Unauthenticated is what becomes of mail from an agent address that does
// not prove it came from the agent.
type Unauthenticated string

// Treatments of unauthenticated agent mail.
const (
	UnauthCustomer   Unauthenticated = "customer"   // kept on its ticket for agents, flagged; no commands, no change
	UnauthQuarantine Unauthenticated = "quarantine" // kept aside, no ticket change
)

// LogFormat selects the slog handler.
type LogFormat string

// Log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)
