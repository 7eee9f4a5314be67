package notice

import (
	"context"
	"fmt"
	"strings"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// ForPreview plans the notice template about tk as `postdesk template
// render` shows it, to to: by default the customer for customer notices,
// and the assignee or else the first agent of the department for agent
// notices. It gives the notice the message, actor and details it would
// have had when its latest cause in history happened. It writes nothing.
func ForPreview(ctx context.Context, store *ticket.Store, template string, tk *ticket.Ticket, history []ticket.Entry, to string) (Notice, error) {
	nt := Notice{Template: template, Ticket: tk, Actor: ticket.System("postdesk"), Automatic: true}
	fillFromHistory(&nt, history)
	var err error
	if nt.To, err = previewRecipient(ctx, store.Pool(), tk, template, to); err != nil {
		return Notice{}, err
	}
	return nt, nil
}

// fillFromHistory gives the notice the message, actor and details it would
// have had when its latest cause happened.
func fillFromHistory(nt *Notice, history []ticket.Entry) {
	var first, lastAny *ticket.Message
	last := map[ticket.MessageKind]*ticket.Message{}
	lastEvent := map[ticket.Action]*ticket.Event{}
	for _, e := range history {
		if e.Event == nil {
			continue
		}
		lastEvent[e.Event.Action] = e.Event
		if m := e.Message; m != nil {
			if first == nil {
				first = m
			}
			last[m.Kind] = m
			lastAny = m
		}
	}
	placeholder := func(kind ticket.MessageKind, text string) *ticket.Message {
		if m := last[kind]; m != nil {
			return m
		}
		return &ticket.Message{Kind: kind, Body: text, Author: ticket.Actor{Name: "(author)"}}
	}
	useEvent := func(a ticket.Action) {
		if e := lastEvent[a]; e != nil {
			nt.EventID, nt.Actor = e.ID, e.Actor
		}
	}
	switch nt.Template {
	case templates.CustomerAck:
		nt.Message, nt.AnswersMail = first, true
		useEvent(ticket.ActionOpened)
	case templates.AgentNewTicket:
		nt.Message = first
		useEvent(ticket.ActionOpened)
	case templates.CustomerReply:
		nt.Message = placeholder(ticket.KindReply, "(the agent's reply)")
		nt.Actor, nt.Automatic = nt.Message.Author, false
		useEvent(ticket.ActionReplied)
	case templates.CustomerResolved, templates.CustomerClosed, templates.AgentResolved:
		useEvent(ticket.ActionStatus)
		if nt.Template == templates.AgentResolved {
			nt.Message = lastAny
		}
	case templates.AgentNewMessage:
		nt.Message = placeholder(ticket.KindCustomer, "(the customer's message)")
		useEvent(ticket.ActionCustomerMessage)
	case templates.AgentNote:
		nt.Message = placeholder(ticket.KindNote, "(the internal note)")
		useEvent(ticket.ActionNoted)
	case templates.AgentAssigned:
		useEvent(ticket.ActionAssigned)
		if e := lastEvent[ticket.ActionAssigned]; e != nil {
			nt.Previous = e.Old
		}
	case templates.AgentTransfer:
		useEvent(ticket.ActionTransferred)
		if e := lastEvent[ticket.ActionTransferred]; e != nil {
			nt.Previous, nt.Note = e.Old, e.Detail
		}
	case templates.AgentCommandError, templates.AgentUnauthenticated:
		nt.AnswersMail, nt.Direct = true, true
		nt.Original = Original{Subject: "Re: " + nt.Ticket.Subject}
		nt.Error = "(what went wrong)"
	case templates.AgentSignInLink:
		nt.Ticket, nt.Direct = nil, true
		nt.Link = "(a one-time sign-in link)"
	}
	if nt.Message != nil && templates.IsCustomerNotice(nt.Template) && nt.Message.Kind == ticket.KindNote {
		nt.Message = nil
	}
}

// previewRecipient resolves the address a preview is for.
func previewRecipient(ctx context.Context, q ticket.Querier, tk *ticket.Ticket, name, to string) (Recipient, error) {
	people, err := customerSide(ctx, q, tk)
	if err != nil {
		return Recipient{}, err
	}
	if to == "" {
		if templates.IsCustomerNotice(name) {
			return people[0], nil
		}
		rs, err := assigneeOrDepartment(ctx, q, tk)
		if err != nil {
			return Recipient{}, err
		}
		for _, r := range rs {
			if r.Kind == KindAgent {
				return r, nil
			}
		}
		return Recipient{}, fmt.Errorf("notice: ticket %s has no assignee and its department no agent: give an address with --to", tk.Number)
	}
	addr, err := ticket.NormalizeEmail(to)
	if err != nil {
		return Recipient{}, err
	}
	for _, p := range people {
		if strings.EqualFold(p.Email, addr) {
			return p, nil
		}
	}
	if a, err := ticket.FindAgent(ctx, q, addr); err == nil && strings.EqualFold(a.Email, addr) {
		return agentRecipient(a), nil
	}
	return Recipient{Email: addr, Kind: KindOther}, nil
}
