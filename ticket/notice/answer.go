package notice

import (
	"fmt"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// answer plans the answer to an agent's own mail: to the agent, from the
// mailbox they wrote to, threaded under their mail.
func (p *Planner) answer(a ticket.AgentAnswer) (Notice, error) {
	var template string
	switch a.Kind {
	case ticket.AnswerCommandError:
		template = templates.AgentCommandError
	case ticket.AnswerUnauthenticated:
		template = templates.AgentUnauthenticated
	case ticket.AnswerSignInLink:
		template = templates.AgentSignInLink
		if a.Link == "" {
			return Notice{}, fmt.Errorf("notice: %s: %w: no link", template, ticket.ErrInvalid)
		}
	default:
		return Notice{}, fmt.Errorf("notice: %w: %q is not an answer to an agent's mail", ticket.ErrInvalid, a.Kind)
	}
	if a.Agent.Email == "" {
		return Notice{}, fmt.Errorf("notice: %s: %w: no agent address", template, ticket.ErrInvalid)
	}
	if p.IsOurs(a.Agent.Email) {
		return Notice{}, fmt.Errorf("notice: %s: %w: %s is one of our mailboxes", template, ticket.ErrInvalid, a.Agent.Email)
	}
	if a.Kind == ticket.AnswerSignInLink {
		// Asked for on the sign-in page, by anyone who knows the address:
		// capped like the other answers (Direct), answering no mail.
		return Notice{Template: template, To: agentRecipient(a.Agent),
			Actor: ticket.System("postdesk"), Automatic: true, Direct: true, Link: a.Link}, nil
	}
	return Notice{
		Template: template, Ticket: a.Ticket, To: agentRecipient(a.Agent),
		Actor: ticket.System("postdesk"), Automatic: true, AnswersMail: true,
		Original: Original{Subject: a.Subject, Date: a.Date}, Error: a.Error,
		InReplyTo: a.MessageID, Mailbox: a.Mailbox, Direct: true,
	}, nil
}
