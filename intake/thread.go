package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/postdesk/postdesk/ticket"
)

// threading is what the threading rules found.
type threading struct {
	ticket *ticket.Ticket // locked; nil for a new ticket
	rule   string
	// signedAgent is the agent whose signed reply address for this ticket the
	// mail was sent to: proof that the mail answers that agent's notice.
	signedAgent *ticket.Agent
	// refused says why a subject token was not followed.
	refused string
}

// thread finds the ticket a mail belongs to, by proof only:
//  1. our own Message-IDs in In-Reply-To / References;
//  2. a signed reply address among the recipients;
//  3. the subject token, when the sender takes part in that ticket;
//  4. other stored Message-IDs.
func (d *delivery) thread(ctx context.Context) (threading, error) {
	var th threading
	m := d.msg
	ids := append(append([]string{}, m.InReplyTo...), m.References...)

	signed, err := d.signedReply(ctx)
	if err != nil {
		return th, err
	}

	var ticketID int64
	if len(ids) > 0 {
		if ticketID, err = d.tx.TicketOfNotice(ctx, ids); err != nil {
			return th, fmt.Errorf("intake: thread by message id: %w", err)
		}
		if ticketID != 0 {
			th.rule = RuleOwnMessageID
		}
	}
	if ticketID == 0 && signed.ticketID != 0 {
		ticketID, th.rule = signed.ticketID, RuleReplyAddress
	}
	if ticketID == 0 {
		if number, ok := d.p.store.Numbering().FindToken(m.Subject); ok {
			id, why, err := d.tokenTicket(ctx, number)
			if err != nil {
				return th, err
			}
			if id != 0 {
				ticketID, th.rule = id, RuleSubjectToken
			} else {
				th.refused = why
			}
		}
	}
	if ticketID == 0 && len(ids) > 0 {
		if ticketID, err = d.tx.TicketOfMessage(ctx, ids); err != nil {
			return th, fmt.Errorf("intake: thread by known message id: %w", err)
		}
		if ticketID != 0 {
			th.rule = RuleKnownMessageID
		}
	}
	if ticketID == 0 {
		return th, nil
	}
	if th.ticket, err = d.tx.Lock(ctx, ticketID); err != nil {
		return th, err
	}
	if signed.agent != nil && signed.ticketID == ticketID {
		th.signedAgent = signed.agent
	}
	return th, nil
}

type signedMatch struct {
	ticketID int64
	agent    *ticket.Agent // set when the address was an agent's
}

// signedReply looks for a valid signed reply address among the envelope
// recipients and the address headers a mailbox delivery keeps.
func (d *delivery) signedReply(ctx context.Context) (signedMatch, error) {
	var out signedMatch
	if len(d.p.opts.ReplySecret) == 0 {
		return out, nil
	}
	for _, addr := range d.recipientCandidates() {
		mailbox, tok, ok := ticket.ParseReplyAddress(addr)
		if !ok {
			continue
		}
		if _, ours := d.p.Mailbox(mailbox); !ours {
			continue
		}
		ticketID, err := d.tx.TicketID(ctx, tok.Number)
		if errors.Is(err, ticket.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("intake: reply address: %w", err)
		}
		var key []byte
		var agent *ticket.Agent
		if tok.Recipient.Agent {
			a, err := ticket.AgentByID(ctx, d.tx.DB(), tok.Recipient.ID)
			if err != nil {
				continue
			}
			key, agent = ticket.ReplyKey(d.p.opts.ReplySecret, a.Secret), &a
		} else {
			key = ticket.ReplyKey(d.p.opts.ReplySecret, nil)
		}
		if !tok.Valid(key) {
			d.p.log.Warn("reply address with a bad signature", "address", addr, "message_id", d.msg.MessageID)
			continue
		}
		return signedMatch{ticketID: ticketID, agent: agent}, nil
	}
	return out, nil
}

func (d *delivery) recipientCandidates() []string {
	out := append([]string{}, d.env.Rcpt...)
	for _, a := range d.msg.To {
		out = append(out, a.Address)
	}
	for _, a := range d.msg.Cc {
		out = append(out, a.Address)
	}
	for _, h := range []string{"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"} {
		for _, v := range d.msg.Header.Values(h) {
			out = append(out, strings.Trim(strings.TrimSpace(v), "<>"))
		}
	}
	return out
}

// tokenTicket returns the ticket a subject token names when the sender takes
// part in it (its customer, a collaborator or an agent), or why not.
func (d *delivery) tokenTicket(ctx context.Context, number string) (int64, string, error) {
	id, participant, err := d.tx.Participant(ctx, number, d.msg.From.Address)
	if errors.Is(err, ticket.ErrNotFound) {
		return 0, fmt.Sprintf("the subject names ticket %s, which does not exist", number), nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("intake: subject token: %w", err)
	}
	if !participant {
		return 0, fmt.Sprintf("the subject carries the token of ticket %s, but %s is not its customer, a collaborator or an agent",
			number, d.msg.From.Address), nil
	}
	return id, "", nil
}
