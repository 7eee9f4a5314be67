package mailer

import (
	"context"
	"log/slog"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/ticket"
)

// Notifier decides, renders and queues the notices that ticket changes
// cause, inside the transaction that makes the changes. It implements
// ticket.Notifier and is safe for concurrent use.
type Notifier struct {
	opts    Options
	numbers ticket.Numbering
	log     *slog.Logger
}

var _ ticket.Notifier = (*Notifier)(nil)

// NewNotifier checks the options the notifier needs and returns it.
// numbers is the store's ticket numbering (for the subject token).
func NewNotifier(opts Options, numbers ticket.Numbering) (*Notifier, error) {
	if err := opts.checkNotifier(); err != nil {
		return nil, err
	}
	return &Notifier{opts: opts, numbers: numbers, log: opts.logger()}, nil
}

// Notify queues the notices for changes in tx. It is called by
// ticket.Store.InTx just before commit.
func (n *Notifier) Notify(ctx context.Context, tx pgx.Tx, changes []ticket.Change) error {
	var notices []notice
	for _, group := range byTicket(changes) {
		planned, err := n.plan(ctx, tx, group)
		if err != nil {
			return err
		}
		notices = append(notices, planned...)
	}
	_, err := n.queue(ctx, tx, notices)
	return err
}

// NotifyChannel is the PostgreSQL channel workers LISTEN on.
const NotifyChannel = "postdesk_outbox"

// byTicket splits changes into per-ticket groups, in order of appearance.
func byTicket(changes []ticket.Change) [][]ticket.Change {
	var order []int64
	groups := map[int64][]ticket.Change{}
	for _, c := range changes {
		if c.Ticket == nil {
			continue
		}
		id := c.Ticket.ID
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], c)
	}
	out := make([][]ticket.Change, 0, len(order))
	for _, id := range order {
		out = append(out, groups[id])
	}
	return out
}

// outbound is a notice as a row of outbound_mails.
type outbound struct {
	TicketID  int64
	EventID   int64
	MessageID string
	Template  string
	Recipient string
	Kind      string
	From      string
	Subject   string
	Automatic bool
	Raw       []byte // the complete message; nil until rendered
	Draft     []byte // the stored draft; nil once rendered
}

func (o outbound) head() head {
	return head{MessageID: o.MessageID, From: o.From, To: o.Recipient, Subject: o.Subject}
}

// capped reports whether the per-recipient cap applies: to automatic mail
// that answers someone outside the organisation (or an unverified mail),
// where a loop with an autoresponder can start. Alerts to our own agents
// are not capped: a busy queue must not silence them.
func capped(nt *notice) bool {
	if !nt.automatic {
		return false
	}
	switch nt.to.Kind {
	case kindCustomer, kindCollaborator:
		return true
	}
	return nt.direct // an answer to a mail that may not be the agent's
}

// build renders a notice into its complete MIME message.
func (n *Notifier) build(ctx context.Context, q ticket.Querier, nt *notice) (outbound, error) {
	var thread []string
	if nt.ticket != nil {
		var err error
		if thread, err = threadIDs(ctx, q, nt.ticket.ID, nt.to.Email); err != nil {
			return outbound{}, err
		}
	}
	return n.buildWith(nt, thread)
}

// buildWith renders a notice whose conversation (threadIDs) is known, at
// once and with the message at hand: what a worker later makes of its
// draft.
func (n *Notifier) buildWith(nt *notice, thread []string) (outbound, error) {
	out, d, err := n.draftOf(nt, thread)
	if err != nil {
		return outbound{}, err
	}
	var files []ticket.Attachment
	if d.Attach {
		files = n.attachments(nt.message)
	}
	out.Raw, err = render(n.opts.Templates, out.head(), d, files)
	if err != nil {
		return outbound{}, err
	}
	return out, nil
}

// attachments returns the message's files to copy into a notice, or none
// when they are not at hand or too big together.
func (n *Notifier) attachments(m *ticket.Message) []ticket.Attachment {
	limit := n.opts.maxAttachmentBytes()
	var total int64
	for _, a := range m.Attachments {
		if a.Content == nil && a.Size > 0 {
			return nil
		}
		total += int64(len(a.Content))
	}
	if limit < 0 || total > limit {
		return nil
	}
	return m.Attachments
}

// replyTo is the recipient's signed reply address for the ticket, so that
// an answer proves who wrote it; empty for a department address, which
// belongs to no one in particular.
func (n *Notifier) replyTo(mailbox, number string, r recipient) string {
	switch r.Kind {
	case kindAgent:
		if len(r.Secret) == 0 {
			return ""
		}
		key := ticket.ReplyKey(n.opts.ReplySecret, r.Secret)
		return ticket.SignedReplyAddress(mailbox, number, ticket.ReplyRecipient{Agent: true, ID: r.ID}, key)
	case kindCustomer, kindCollaborator:
		if r.ID == 0 {
			return ""
		}
		key := ticket.ReplyKey(n.opts.ReplySecret, nil)
		return ticket.SignedReplyAddress(mailbox, number, ticket.ReplyRecipient{ID: r.ID}, key)
	}
	return ""
}

// sender returns the From of a notice: the mailbox given, else the
// ticket's mailbox, else the default.
func (o Options) sender(tk *ticket.Ticket, mailbox string) (name, addr string) {
	addr = mailbox
	if addr == "" && tk != nil {
		addr = tk.MailboxAddress
	}
	if addr == "" {
		addr = o.DefaultFrom
	}
	if addr == "" {
		boxes := make([]string, 0, len(o.Mailboxes))
		for a := range o.Mailboxes {
			boxes = append(boxes, a)
		}
		sort.Strings(boxes)
		if len(boxes) > 0 {
			addr = boxes[0]
		}
	}
	name = o.Mailboxes[strings.ToLower(addr)]
	if name == "" {
		name = o.OrgName
	}
	return name, addr
}

func ticketNumber(tk *ticket.Ticket) string {
	if tk == nil {
		return ""
	}
	return tk.Number
}
