package ticket

import (
	"context"
	"fmt"
	"time"
)

// AnswerKind says why an agent's own mail is answered.
type AnswerKind string

// Answers to an agent's mail.
const (
	// AnswerCommandError: a command in the mail failed, so nothing was
	// applied.
	AnswerCommandError AnswerKind = "command_error"
	// AnswerUnauthenticated: the mail could not be proven to come from the
	// agent, so none of its commands ran.
	AnswerUnauthenticated AnswerKind = "unauthenticated"
	// AnswerSignInLink: the agent asked for a sign-in link on the web
	// console's sign-in page (Link is the URL).
	AnswerSignInLink AnswerKind = "sign_in_link"
)

// AgentAnswer is an answer to an agent's own mail rather than news about a
// ticket change. It is queued like any notice: only if the transaction that
// records the refused mail commits.
type AgentAnswer struct {
	Kind      AnswerKind
	Ticket    *Ticket   // the ticket the mail was about; nil when none was found
	Agent     Agent     // with its Secret, for the signed Reply-To
	Mailbox   string    // the address the agent wrote to; empty: the ticket's mailbox
	Subject   string    // the agent's mail's subject
	MessageID string    // the agent's mail's Message-ID, so the answer threads under it
	Date      time.Time // the agent's mail's date
	Error     string    // what went wrong, in words the agent can act on
	Link      string    // AnswerSignInLink: the one-time sign-in URL
}

// Answer queues an answer to an agent's own mail in this transaction: a
// Change without an event that the Notifier turns into the notice.
func (t *Tx) Answer(_ context.Context, a AgentAnswer) error {
	switch a.Kind {
	case AnswerCommandError, AnswerUnauthenticated, AnswerSignInLink:
	default:
		return fmt.Errorf("ticket: %w: %q is not an answer to an agent's mail", ErrInvalid, a.Kind)
	}
	if a.Agent.Email == "" {
		return fmt.Errorf("ticket: answer %s: %w: no agent address", a.Kind, ErrInvalid)
	}
	t.changes = append(t.changes, Change{Ticket: a.Ticket, Answer: &a, Quiet: t.quiet})
	return nil
}
