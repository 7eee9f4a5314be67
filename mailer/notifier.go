package mailer

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/notice"
)

// Notifier renders and queues the notices that ticket changes cause,
// inside the transaction that makes the changes: the ticket/notice planner
// decides who is told what, the notifier drafts each notice (Message-ID,
// sender, subject, thread) and stores it in the ticket outbox. It
// implements ticket.Notifier and is safe for concurrent use.
type Notifier struct {
	opts    Options
	numbers ticket.Numbering
	planner *notice.Planner
	log     *slog.Logger
}

var _ ticket.Notifier = (*Notifier)(nil)

// NewNotifier checks the options the notifier needs and returns it.
// numbers is the store's ticket numbering (for the subject token).
func NewNotifier(opts Options, numbers ticket.Numbering) (*Notifier, error) {
	if err := opts.checkNotifier(); err != nil {
		return nil, err
	}
	return &Notifier{opts: opts, numbers: numbers, planner: opts.planner(), log: opts.logger()}, nil
}

// Notify queues the notices for changes in tx. It is called by
// ticket.Store.InTx just before commit.
func (n *Notifier) Notify(ctx context.Context, tx *ticket.Tx, changes []ticket.Change) error {
	notices, err := n.planner.Plan(ctx, tx, changes)
	if err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	_, err = n.queue(ctx, tx, notices)
	return err
}

func headOf(o ticket.Outgoing) head {
	return head{MessageID: o.MessageID, From: o.From, To: o.Recipient, Subject: o.Subject}
}

// capped reports whether the per-recipient cap applies: to automatic mail
// that answers someone outside the organisation (or an unverified mail),
// where a loop with an autoresponder can start. Alerts to our own agents
// are not capped: a busy queue must not silence them.
func capped(nt *notice.Notice) bool {
	if !nt.Automatic {
		return false
	}
	switch nt.To.Kind {
	case notice.KindCustomer, notice.KindCollaborator:
		return true
	}
	return nt.Direct // an answer to a mail that may not be the agent's
}

// buildWith renders a notice whose conversation (the outbox's ThreadIDs,
// kept by threadOf) is known, at once and with the message at hand: what
// a worker later makes of its draft.
func (n *Notifier) buildWith(nt *notice.Notice, thread []string) (ticket.Outgoing, error) {
	out, d, err := n.draftOf(nt, thread)
	if err != nil {
		return ticket.Outgoing{}, err
	}
	var files []ticket.Attachment
	if d.Attach {
		files = n.attachments(nt.Message)
	}
	out.Raw, err = render(n.opts.Templates, headOf(out), d, files)
	if err != nil {
		return ticket.Outgoing{}, err
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
func (n *Notifier) replyTo(mailbox, number string, r notice.Recipient) string {
	switch r.Kind {
	case notice.KindAgent:
		if len(r.Secret) == 0 {
			return ""
		}
		key := ticket.ReplyKey(n.opts.ReplySecret, r.Secret)
		return ticket.SignedReplyAddress(mailbox, number, ticket.ReplyRecipient{Agent: true, ID: r.ID}, key)
	case notice.KindCustomer, notice.KindCollaborator:
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
