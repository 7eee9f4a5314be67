// Package intake is the inbound step: it turns inbound mail into ticket
// operations. A Processor stores one raw mail once, dedupes, classifies,
// threads and routes it and commits the raw bytes, what became of them and
// the ticket change in one transaction; the edges that bring mail, the
// SMTP/LMTP listener (intake/listener) and the IMAP poller (intake/poller),
// accept a mail only after Deliver has returned without error.
package intake

import (
	"errors"
	"fmt"
)

// Transport says how a mail arrived.
type Transport string

// Transports.
const (
	TransportSMTP Transport = "smtp"
	TransportLMTP Transport = "lmtp"
	TransportIMAP Transport = "imap"
	TransportCLI  Transport = "cli"
)

// Envelope is what the transport knows about a mail besides its bytes.
type Envelope struct {
	Transport Transport
	// MailboxID is the polled mailbox for IMAP; 0 when the recipients say.
	MailboxID       int64
	IMAPUIDValidity uint32
	IMAPUID         uint32
	Remote          string   // client address for SMTP/LMTP
	MailFrom        string   // envelope sender; "" for <>
	Rcpt            []string // envelope recipients (SMTP/LMTP)
}

// Outcome is what became of a mail.
type Outcome string

// Outcomes, as stored in inbound_mails.outcome.
const (
	OutcomeNewTicket   Outcome = "new_ticket"
	OutcomeFollowUp    Outcome = "follow_up"
	OutcomeQuarantined Outcome = "quarantined"
	OutcomeIgnored     Outcome = "ignored"
	OutcomeRejected    Outcome = "rejected"
)

// Result reports a committed mail.
type Result struct {
	InboundID    int64
	Mailbox      string // name of the mailbox it arrived at, when known
	Outcome      Outcome
	TicketNumber string  // the ticket the mail opened or joined, if any
	Rule         string  // the threading rule that matched a follow-up
	Reason       string  // why a mail was quarantined, ignored or rejected
	Duplicate    bool    // the mail had been committed before; nothing changed
	Was          Outcome // for a replay: the outcome before it
}

// Threading rules, in the order they are tried.
const (
	RuleOwnMessageID   = "own_message_id"
	RuleReplyAddress   = "reply_address"
	RuleSubjectToken   = "subject_token"
	RuleKnownMessageID = "known_message_id"
)

// ErrTemporary marks a failure after which the sender should try again
// later: nothing was committed.
var ErrTemporary = errors.New("temporary failure")

// temporary marks err as ErrTemporary and keeps it in the chain, so that
// the edge can still tell a deadline from other trouble.
func temporary(err error) error {
	return fmt.Errorf("%w: %w", ErrTemporary, err)
}
