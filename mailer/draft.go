package mailer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/notice"
)

// draft is a notice that is decided, addressed and numbered but not yet
// rendered. The transaction of a change stores it in the outbox (the draft,
// with the Message-ID, sender, recipient and subject in their columns); the
// worker that claims it renders the body, composes the MIME message, stores
// that as the notice's raw mail and sends it. Everything the notice says is
// fixed when it is queued: the ticket as the change left it, who did what,
// the note, the thread it answers. Only the text and files of the ticket
// message it shows are read back when it is rendered, from rows that never
// change, so that a notice does not store the message a second time.
//
// Rendering at delivery keeps the templates' and MIME composer's work (the
// bulk of queuing a notice) out of the transaction that takes a mail in.
type draft struct {
	Template   string         `json:"template"`
	Department string         `json:"department,omitempty"` // selects the department's templates
	Data       templates.Data `json:"data"`
	// MessageRow is the messages.id of Data.Message, whose text is left out
	// of the stored draft and read back; 0 when the text is in Data.
	MessageRow int64 `json:"message_row,omitempty"`
	// Quote is how many characters of the message's text the notice
	// quotes; the rest is named, not copied (0: quoteAutomatic).
	Quote         int       `json:"quote,omitempty"`
	Attach        bool      `json:"attach,omitempty"` // copy the message's files into the mail
	FromName      string    `json:"from_name,omitempty"`
	ToName        string    `json:"to_name,omitempty"`
	ReplyTo       string    `json:"reply_to,omitempty"`
	InReplyTo     string    `json:"in_reply_to,omitempty"`
	References    []string  `json:"references,omitempty"`
	AutoSubmitted string    `json:"auto_submitted,omitempty"`
	Ticket        string    `json:"ticket,omitempty"` // number, for the ticket header
	Date          time.Time `json:"date"`

	gone bool // fill found no message row MessageRow
}

// head is what a notice's columns say about its mail.
type head struct {
	MessageID string
	From      string
	To        string
	Subject   string
}

// draftOf decides everything about a notice but its body: Message-ID,
// sender, subject, signed Reply-To and the thread it continues.
func (n *Notifier) draftOf(nt *notice.Notice, thread []string) (ticket.Outgoing, draft, error) {
	tk := nt.Ticket
	dept := ""
	if tk != nil {
		dept = tk.DepartmentName
	}
	data := n.data(nt)
	subject, err := n.opts.Templates.RenderSubject(nt.Template, dept, data)
	if err != nil {
		return ticket.Outgoing{}, draft{}, fmt.Errorf("mailer: %w", err)
	}
	if tk != nil {
		subject = n.numbers.Subject(tk.Number, subject)
	}
	fromName, from := n.opts.sender(tk, nt.Mailbox)
	id, err := newMessageID(n.opts.MessageIDDomain)
	if err != nil {
		return ticket.Outgoing{}, draft{}, err
	}
	d := draft{
		Template: nt.Template, Department: dept, Data: data, FromName: fromName, ToName: nt.To.Name,
		AutoSubmitted: autoSubmitted(nt), Date: time.Now(), Attach: nt.Attach && nt.Message != nil,
		Quote: quoteLimit(nt.Automatic),
	}
	if nt.Message != nil {
		d.MessageRow = nt.Message.ID
	}
	var refs []string
	if tk != nil {
		d.Ticket = tk.Number
		d.ReplyTo = n.replyTo(from, tk.Number, nt.To)
		refs = thread
	}
	if nt.InReplyTo != "" && validID(nt.InReplyTo) {
		refs = append(refs, nt.InReplyTo)
	}
	d.References = trimReferences(refs)
	if len(d.References) > 0 {
		d.InReplyTo = d.References[len(d.References)-1]
	}
	out := ticket.Outgoing{
		EventID: nt.EventID, MessageID: id, Template: nt.Template, Recipient: nt.To.Email, RecipientKind: nt.To.Kind,
		From: from, Subject: subject, Automatic: nt.Automatic,
	}
	if tk != nil {
		out.TicketID = tk.ID
	}
	return out, d, nil
}

// encode is the draft as stored: without the message text when the
// message row holds it.
func (d draft) encode() ([]byte, error) {
	if d.MessageRow != 0 && d.Data.Message != nil {
		m := *d.Data.Message
		m.Text = ""
		d.Data.Message = &m
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("mailer: encode notice: %w", err)
	}
	return b, nil
}

// What a notice quotes of a message's text: an automatic notice (an
// acknowledgement, an agent's alert) the start of it, a person's reply a
// good deal more; never a whole mail of many megabytes, which would make
// each notice as big as the mail (relays refuse them) and hold several
// copies of it in memory while rendering. The whole text stays on the
// ticket.
const (
	quoteAutomatic = 32 << 10
	quoteReply     = 1 << 20
)

func quoteLimit(automatic bool) int {
	if automatic {
		return quoteAutomatic
	}
	return quoteReply
}

func (d *draft) quote() int {
	if d.Quote <= 0 {
		return quoteAutomatic
	}
	return d.Quote
}

// excerpt is text (the start of a text of size bytes) cut to limit
// characters, at a line break or space when one is near, with a line that
// says how much was left out.
func excerpt(text string, size, limit int) string {
	if len(text) <= limit && len(text) >= size {
		return text
	}
	n, runes := 0, 0
	for i := range text {
		if runes == limit {
			n = i
			break
		}
		runes++
		n = len(text)
	}
	if n >= len(text) && len(text) >= size {
		return text
	}
	cut := text[:n]
	if i := strings.LastIndexAny(cut, "\n "); i > n*3/4 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " \n") + fmt.Sprintf("\n\n[… %s more of this message not quoted here; the whole message is kept on the ticket]",
		byteSize(int64(size-len(cut))))
}

// byteSize is n bytes in words: "812 bytes", "4.2 KB", "24.0 MB".
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1000/1000)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1000/1000/1000)
}

// render composes the complete MIME message of a draft whose message text
// is in place. files are the message's attachments, copied into the mail
// when the draft asks for them.
func render(set *templates.Set, h head, d draft, files []ticket.Attachment) ([]byte, error) {
	if m := d.Data.Message; m != nil && d.MessageRow == 0 && len(m.Text) > d.quote() {
		// The text came with the draft (a preview, a message not stored).
		c := *m
		c.Text = excerpt(m.Text, len(m.Text), d.quote())
		d.Data.Message = &c
	}
	r, err := set.Render(d.Template, d.Department, d.Data)
	if err != nil {
		return nil, fmt.Errorf("mailer: %w", err)
	}
	env := envelope{
		FromName: d.FromName, From: h.From, ToName: d.ToName, To: h.To, ReplyTo: d.ReplyTo,
		Subject: h.Subject, MessageID: h.MessageID, InReplyTo: d.InReplyTo, References: d.References,
		AutoSubmitted: d.AutoSubmitted, Ticket: d.Ticket, LoopDomain: loopDomain(h.MessageID),
		Date: d.Date, Text: r.Text, HTML: r.HTML,
	}
	if d.Attach {
		env.Attachments = files
	}
	return compose(env)
}

// loopDomain is the domain of our Message-IDs, which the loop header carries.
func loopDomain(messageID string) string {
	for i := len(messageID) - 1; i >= 0; i-- {
		if messageID[i] == '@' {
			return messageID[i+1:]
		}
	}
	return ""
}

// fill reads back the message texts (and, where a draft copies them, the
// files) that the stored drafts left out: one statement for the texts and
// one for the files of a whole batch. Files are loaded only while the
// message's files together stay within limit (negative: never); beyond it
// the notice only names them, as when it was queued.
func fill(ctx context.Context, tx *ticket.Tx, drafts []*draft, limit int64) (map[int64][]ticket.Attachment, error) {
	var ids, attachIDs []int64
	for _, d := range drafts {
		if d.MessageRow == 0 {
			continue
		}
		ids = append(ids, d.MessageRow)
		if d.Attach && limit >= 0 {
			attachIDs = append(attachIDs, d.MessageRow)
		}
	}
	files := map[int64][]ticket.Attachment{}
	if len(ids) == 0 {
		return files, nil
	}
	quote := 0
	for _, d := range drafts {
		quote = max(quote, d.quote())
	}
	// One character more than quoted: whether there is more to say so.
	texts, err := tx.MessageTexts(ctx, ids, quote+1)
	if err != nil {
		return nil, fmt.Errorf("mailer: %w", err)
	}
	for _, d := range drafts {
		if d.MessageRow == 0 || d.Data.Message == nil {
			continue
		}
		text, ok := texts[d.MessageRow]
		if !ok {
			d.gone = true // this notice cannot be rendered; the others can
			continue
		}
		m := *d.Data.Message
		m.Text = excerpt(text.Text, text.Bytes, d.quote())
		d.Data.Message = &m
	}
	if len(attachIDs) == 0 {
		return files, nil
	}
	if files, err = tx.MessageFiles(ctx, attachIDs, limit); err != nil {
		return nil, fmt.Errorf("mailer: %w", err)
	}
	return files, nil
}

// renderDrafts renders the claimed notices that are still drafts and
// stores each one's raw message in place of its draft, in the claiming
// transaction: a notice is rendered once, and a retry sends the same bytes.
// A draft that cannot be rendered (a template that fails on its data, a
// message that is gone) is marked on its row so that it is recorded as a
// permanent failure instead of being sent.
func (w *Worker) renderDrafts(ctx context.Context, tx *ticket.Tx, rows []queued) error {
	var idx []int
	var drafts []*draft
	for i := range rows {
		if rows[i].Raw != nil {
			continue
		}
		d := &draft{}
		if err := json.Unmarshal(rows[i].Draft, d); err != nil {
			rows[i].failed = "cannot render the notice: its draft is unreadable: " + err.Error()
			continue
		}
		idx, drafts = append(idx, i), append(drafts, d)
	}
	if len(drafts) == 0 {
		return nil
	}
	files, err := fill(ctx, tx, drafts, w.maxAttach)
	if err != nil {
		return err
	}
	var ids []int64
	var raws [][]byte
	var pending int
	// The rendered mails are written back in pieces of a few MiB: one
	// statement for a batch of big mails would hold them all twice in
	// memory, and could pass PostgreSQL's 1 GB limit for one value.
	store := func() error {
		if len(ids) == 0 {
			return nil
		}
		if err := tx.StoreRendered(ctx, ids, raws); err != nil {
			return err
		}
		ids, raws, pending = ids[:0], raws[:0], 0
		return nil
	}
	for k, d := range drafts {
		row := &rows[idx[k]]
		if d.gone {
			row.failed = fmt.Sprintf("cannot render the notice: its message (%d) is gone", d.MessageRow)
			continue
		}
		raw, err := render(w.templates, head{MessageID: row.MessageID, From: row.From, To: row.Recipient,
			Subject: row.Subject}, *d, files[d.MessageRow])
		if err != nil {
			row.failed = "cannot render the notice: " + err.Error()
			w.log.Error("outbox: notice not rendered", "message_id", row.MessageID, "err", err)
			continue
		}
		row.Raw = raw
		ids, raws, pending = append(ids, row.ID), append(raws, raw), pending+len(raw)
		if pending >= storeChunk {
			if err := store(); err != nil {
				return err
			}
		}
	}
	return store()
}

// storeChunk is about how many bytes of rendered mail one statement writes
// back.
const storeChunk = 4 << 20

// RenderQueued renders every queued notice that is still a draft, as a
// worker does when it claims one, and sends nothing: afterwards each
// notice's raw message is the mail that will go out. Drafts that cannot be
// rendered stay drafts (a worker records them as failed). It returns how
// many it rendered.
func (w *Worker) RenderQueued(ctx context.Context) (int, error) {
	var done int
	var last int64
	for {
		var n int
		more := false
		err := w.store.InTx(ctx, func(t *ticket.Tx) error {
			mails, err := t.ClaimDrafts(ctx, last, w.queue.BatchSize)
			if err != nil || len(mails) == 0 {
				return err
			}
			claimed := queuedOf(mails)
			last, more = claimed[len(claimed)-1].ID, true
			if err := w.renderDrafts(ctx, t, claimed); err != nil {
				return err
			}
			for _, q := range claimed {
				if q.failed == "" {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return done, fmt.Errorf("mailer: render queued notices: %w", err)
		}
		done += n
		if !more {
			return done, nil
		}
	}
}
