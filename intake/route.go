package intake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/ticket"
)

// message builds the ticket message for the mail, by author and kind.
func (d *delivery) message(kind ticket.MessageKind, author ticket.Actor, body string) ticket.Message {
	m := d.msg
	msg := ticket.Message{
		Kind: kind, Author: author, Body: d.capText(body), FullText: d.capText(m.Text), HTML: m.HTML,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References, InboundMailID: d.res.InboundID,
	}
	if len(msg.HTML) > maxText {
		msg.HTML = ""
	}
	for _, a := range m.Attachments {
		msg.Attachments = append(msg.Attachments, ticket.Attachment{Filename: a.Filename, ContentType: a.ContentType,
			Inline: a.Inline, ContentID: a.ContentID, Content: a.Content})
	}
	return msg
}

// maxText is how much of a mail's text a ticket message holds; a mail of
// many megabytes of text (a pasted log) keeps the rest in its raw bytes,
// which are stored whole, and its message says so. HTML longer than this
// is left out: the text shows the mail, and cut HTML is broken HTML.
const maxText = 1 << 20

// capText is text cut to maxText bytes, at a line break near the end when
// there is one, with a line that says where the rest is.
func (d *delivery) capText(text string) string {
	if len(text) <= maxText {
		return text
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(text[:cut], '\n'); i > maxText*3/4 {
		cut = i
	}
	return text[:cut] + fmt.Sprintf("\n\n[… the rest of this text is in the mail as received: postdesk mail show %d --raw]",
		d.res.InboundID)
}

// replyText is the new part of the mail, or all of it when nothing is left.
func (d *delivery) replyText() string {
	if t := strings.TrimSpace(d.msg.ReplyText); t != "" {
		return t
	}
	return strings.TrimSpace(d.msg.Text)
}

// followUp adds the mail to its ticket: as the agent's action when the mail
// proves it came from the agent, flagged as unverified when it comes from
// an agent's address and proves nothing, otherwise as a customer-side
// message.
func (d *delivery) followUp(ctx context.Context, th threading) (Result, error) {
	tk := th.ticket
	d.res.TicketNumber, d.res.Rule = tk.Number, th.rule
	from := d.msg.From
	agent, err := d.agentByEmail(ctx, from.Address)
	if err != nil {
		return d.res, err
	}
	var how string
	if agent != nil {
		how = d.authenticated(ctx, *agent, th)
	}
	// A correspondent that answers each of our notices within moments is a
	// machine in a loop with us: after a few such exchanges it is muted on
	// the ticket (the agents are told), and the mail that completed the
	// run and all that follows are kept but change nothing. An agent's
	// proven mail is never counted nor held: a forger who makes an agent's
	// address look like a loop mutes only the answers to the forgeries.
	if how == "" {
		ex, err := d.tx.CountExchange(ctx, tk, from.Address)
		if err != nil {
			return d.res, err
		}
		if ex.Muted {
			d.res.Outcome, d.res.Reason = OutcomeIgnored, fmt.Sprintf("%s is muted on ticket %s (mail loop)", from.Address, tk.Number)
			return d.res, d.finish(ctx, tk.ID)
		}
	}
	if agent != nil {
		if how != "" {
			return d.agentMail(ctx, tk, *agent, how)
		}
		return d.unverifiedMail(ctx, tk, *agent)
	}
	id, contact, err := d.tx.UpsertContact(ctx, ticket.Contact{Email: from.Address, Name: from.Name})
	if err != nil {
		return d.res, err
	}
	author := ticket.Actor{Kind: ticket.ActorCustomer, ID: id, Name: contact.Name, Email: contact.Email}
	msg := d.message(ticket.KindCustomer, author, d.replyText())
	if err := d.tx.Apply(ctx, tk, author, ticket.Op{Kind: ticket.OpMessage, Message: &msg}); err != nil {
		return d.res, err
	}
	// Whom the customer copied on the reply joins the conversation, as on
	// the opening mail.
	copied, err := d.copied(ctx, from.Address)
	if err != nil {
		return d.res, err
	}
	if err := d.tx.AddCopied(ctx, tk, author, copied); err != nil {
		return d.res, err
	}
	d.res.Outcome = OutcomeFollowUp
	return d.res, d.finish(ctx, tk.ID)
}

// copied lists the people the mail's To and Cc name besides our own
// mailboxes, our agents and the addresses in skip (the customer, the
// sender): they become the ticket's collaborators, within the cap.
func (d *delivery) copied(ctx context.Context, skip ...string) ([]ticket.Contact, error) {
	var out []ticket.Contact
	for _, c := range append(append([]parse.Address{}, d.msg.To...), d.msg.Cc...) {
		if c.Address == "" || d.p.isOwn(c.Address) || slices.ContainsFunc(skip, func(s string) bool { return strings.EqualFold(s, c.Address) }) {
			continue
		}
		if a, err := d.agentByEmail(ctx, c.Address); err != nil {
			return nil, err
		} else if a != nil {
			continue
		}
		out = append(out, ticket.Contact{Email: c.Address, Name: c.Name})
	}
	return out, nil
}

func (d *delivery) agentByEmail(ctx context.Context, email string) (*ticket.Agent, error) {
	if email == "" {
		return nil, nil
	}
	a, err := ticket.FindAgent(ctx, d.tx.DB(), email)
	if err != nil {
		if isRefusal(err) {
			return nil, nil
		}
		return nil, err
	}
	if !a.Active || !strings.EqualFold(a.Email, email) {
		return nil, nil
	}
	return &a, nil
}

// mailbox is the mailbox the mail was delivered to.
func (d *delivery) mailbox() (ticket.Mailbox, bool) {
	if d.env.MailboxID != 0 {
		return d.p.mailboxByID(d.env.MailboxID)
	}
	for _, r := range d.env.Rcpt {
		if m, ok := d.p.Mailbox(r); ok {
			return m, true
		}
	}
	if d.msg != nil { // nil: the mail did not parse
		for _, a := range append(append([]string{}, addrs(d.msg.To)...), addrs(d.msg.Cc)...) {
			if m, ok := d.p.Mailbox(a); ok {
				return m, true
			}
		}
	}
	d.p.mu.RLock()
	defer d.p.mu.RUnlock()
	if len(d.p.mailboxes) > 0 {
		return d.p.mailboxes[0], true
	}
	return ticket.Mailbox{}, false
}

// route is where a new ticket goes.
type route struct {
	departmentID int64
	helpTopicID  int64
	priority     ticket.Priority
	collaborator string
}

// newTicket opens a ticket for the mail, routed by its mailbox and filters.
func (d *delivery) newTicket(ctx context.Context, refused string) (Result, error) {
	box, ok := d.mailbox()
	if !ok {
		return d.keep(ctx, OutcomeQuarantined, "no mailbox is configured for its recipients")
	}
	r, err := d.routeOf(ctx, box)
	if err != nil {
		return d.res, err
	}
	from := d.msg.From
	customer := ticket.Contact{Email: from.Address, Name: from.Name}
	var author ticket.Actor
	body := d.replyText()

	agent, err := d.agentByEmail(ctx, from.Address)
	if err != nil {
		return d.res, err
	}
	if agent != nil {
		cmds, rest, perr := parseCommands(body)
		if c := cmds.customer; c != "" || perr != nil {
			// An agent opens a ticket on a customer's behalf: only with proof.
			if how := d.authenticated(ctx, *agent, threading{}); how == "" {
				why := fmt.Sprintf("mail from agent address %s with commands could not be authenticated "+
					"(no trusted DKIM/SPF pass, no valid DKIM signature of the agent's domain): no ticket opened", from.Address)
				if err := d.answer(ctx, ticket.AnswerUnauthenticated, nil, *agent, why); err != nil {
					return d.res, err
				}
				return d.keep(ctx, OutcomeQuarantined, why)
			}
			if perr == nil {
				if customer.Email, err = ticket.NormalizeEmail(c); err != nil {
					perr = fmt.Errorf("#customer %s: not an email address", c)
				}
			}
			if perr != nil {
				if err := d.answer(ctx, ticket.AnswerCommandError, nil, *agent, perr.Error()); err != nil {
					return d.res, err
				}
				return d.keep(ctx, OutcomeRejected, perr.Error())
			}
			customer.Name, body = "", rest
			author = ticket.AgentActor(*agent)
		}
	}

	f := d.filterMatch(box)
	if f != nil && f.Reject != "" {
		return d.keep(ctx, OutcomeRejected, "filter "+f.Name+": "+f.Reject)
	}
	if f != nil && f.Quarantine != "" {
		return d.keep(ctx, OutcomeQuarantined, "filter "+f.Name+": "+f.Quarantine)
	}

	nt := ticket.NewTicket{
		Subject: d.msg.Subject, Customer: customer, DepartmentID: r.departmentID, HelpTopicID: r.helpTopicID,
		Priority: r.priority, MailboxID: box.ID, Message: d.message(ticket.KindCustomer, author, body),
	}
	if nt.Collaborators, err = d.copied(ctx, customer.Email, from.Address); err != nil {
		return d.res, err
	}
	if r.collaborator != "" {
		nt.Collaborators = append(nt.Collaborators, ticket.Contact{Email: r.collaborator})
	}
	tk, _, err := d.tx.Open(ctx, nt)
	if err != nil {
		return d.res, err
	}
	if refused != "" {
		if _, err := d.tx.Record(ctx, tk, ticket.Event{Actor: ticket.System("intake"), Action: ticket.ActionThreadRefused,
			Detail: refused + "; opened a new ticket"}); err != nil {
			return d.res, err
		}
	}
	d.res.Outcome, d.res.TicketNumber = OutcomeNewTicket, tk.Number
	if refused != "" {
		d.res.Reason = refused
	}
	return d.res, d.finish(ctx, tk.ID)
}

// routeOf takes department, help topic and priority from the mailbox, then
// from the first matching filter.
func (d *delivery) routeOf(ctx context.Context, box ticket.Mailbox) (route, error) {
	db := d.tx.DB()
	r := route{departmentID: box.DepartmentID, helpTopicID: box.HelpTopicID, priority: box.Priority}
	if r.helpTopicID != 0 {
		h, err := ticket.HelpTopicByID(ctx, db, r.helpTopicID)
		if err != nil {
			return r, err
		}
		if r.departmentID == 0 {
			r.departmentID = h.DepartmentID
		}
		if r.priority == "" {
			r.priority = h.Priority
		}
	}
	if f := d.filterMatch(box); f != nil {
		if f.HelpTopic != "" {
			h, err := ticket.FindHelpTopic(ctx, db, f.HelpTopic)
			if err != nil {
				return r, err
			}
			r.helpTopicID, r.departmentID, r.priority = h.ID, h.DepartmentID, h.Priority
		}
		if f.Department != "" {
			dep, err := ticket.FindDepartment(ctx, db, f.Department)
			if err != nil {
				return r, err
			}
			r.departmentID = dep.ID
		}
		if f.Priority != "" {
			r.priority = f.Priority
		}
		r.collaborator = f.AddCollaborator
	}
	if r.departmentID == 0 {
		return r, fmt.Errorf("intake: mailbox %s: %w: it names no department", box.Name, ticket.ErrInvalid)
	}
	if r.priority == "" {
		r.priority = ticket.PriorityNormal
	}
	return r, nil
}

// filterMatch returns the first filter that matches the mail.
func (d *delivery) filterMatch(box ticket.Mailbox) *Filter {
	to := append(append([]string{box.Address}, d.env.Rcpt...), addrs(d.msg.To)...)
	for i := range d.p.opts.Filters {
		f := &d.p.opts.Filters[i]
		if f.Match != nil && f.Match(strings.ToLower(d.msg.From.Address), to, d.msg.Subject, d.msg.Text) {
			return f
		}
	}
	return nil
}
