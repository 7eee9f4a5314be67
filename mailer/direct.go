package mailer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// AgentNotice is an answer to an agent's own mail rather than news about a
// ticket change: agent_command_error (a command in the mail failed, so
// nothing was applied) or agent_unauthenticated (the mail could not be
// proven to come from the agent, so none of its commands ran).
type AgentNotice struct {
	Template  string         // templates.AgentCommandError or templates.AgentUnauthenticated
	Ticket    *ticket.Ticket // the ticket the mail was about; nil when none was found
	Agent     ticket.Agent   // with its Secret, for the signed Reply-To
	Mailbox   string         // the address the agent wrote to; empty: the ticket's mailbox
	Subject   string         // the agent's mail's subject
	MessageID string         // the agent's mail's Message-ID, so the answer threads under it
	Date      time.Time      // the agent's mail's date
	Error     string         // what went wrong, in words the agent can act on
}

// NotifyAgent queues an AgentNotice in tx. The intake calls it in the
// transaction that records the refused mail; the notice goes out only if
// that transaction commits.
func (n *Notifier) NotifyAgent(ctx context.Context, tx pgx.Tx, an AgentNotice) error {
	if an.Template != templates.AgentCommandError && an.Template != templates.AgentUnauthenticated {
		return fmt.Errorf("mailer: %q is not an answer to an agent's mail", an.Template)
	}
	if an.Agent.Email == "" {
		return fmt.Errorf("mailer: %s: %w: no agent address", an.Template, ticket.ErrInvalid)
	}
	if n.opts.isOurs(an.Agent.Email) {
		return fmt.Errorf("mailer: %s: %w: %s is one of our mailboxes", an.Template, ticket.ErrInvalid, an.Agent.Email)
	}
	nt := notice{
		template: an.Template, ticket: an.Ticket, to: agentRecipient(an.Agent),
		actor: ticket.System("postdesk"), automatic: true, autoSubmitted: autoReplied,
		original: templates.Original{Subject: an.Subject, Date: an.Date}, errText: an.Error,
		inReplyTo: an.MessageID, mailbox: an.Mailbox, direct: true,
	}
	_, err := n.queue(ctx, tx, []notice{nt})
	return err
}
