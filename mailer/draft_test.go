package mailer_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// A change queues its notices as drafts, without a copy of the message
// they show; the worker renders each one once, stores the rendered mail in
// place of the draft and sends exactly those bytes.
func TestNoticesAreQueuedAsDraftsAndRenderedOnce(t *testing.T) {
	f := newFixture(t, nil, nil)
	tk := f.open("jane-1@user.com")
	type stored struct {
		id                int64
		template, subject string
		raw, draft        []byte
		recipient, msgID  string
	}
	read := func() []stored {
		t.Helper()
		rows, err := f.pool.Query(f.ctx, `SELECT id, template, subject, rendered, draft, recipient, message_id
			FROM outbound_mails ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []stored
		for rows.Next() {
			var s stored
			if err := rows.Scan(&s.id, &s.template, &s.subject, &s.raw, &s.draft, &s.recipient, &s.msgID); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	queued := read()
	if len(queued) < 2 {
		t.Fatalf("%d notices queued for a new ticket, want the acknowledgement and the alerts", len(queued))
	}
	const body = "customers are reporting a 404 error" // the message of f.open
	for _, q := range queued {
		if q.raw != nil || q.draft == nil {
			t.Fatalf("%s to %s queued with raw %d bytes, draft %d bytes: want a draft only",
				q.template, q.recipient, len(q.raw), len(q.draft))
		}
		if !strings.Contains(q.subject, tk.Number) || q.msgID == "" {
			t.Errorf("%s queued with subject %q, Message-ID %q: both are fixed when queued", q.template, q.subject, q.msgID)
		}
		if bytes.Contains(q.draft, []byte(body)) {
			t.Errorf("the draft of %s stores the message text again: %s", q.template, q.draft)
		}
	}

	f.deliver()
	sent := f.sink.received()
	if len(sent) != len(queued) {
		t.Fatalf("%d mails sent for %d notices", len(sent), len(queued))
	}
	byID := map[string][]byte{}
	for _, r := range sent {
		byID[parse(t, r).messageID()] = r.Data
	}
	for _, q := range read() {
		if q.draft != nil || q.raw == nil {
			t.Fatalf("%s after delivery: raw %d bytes, draft %d bytes: want the rendered mail only",
				q.template, len(q.raw), len(q.draft))
		}
		if !bytes.Equal(byID[q.msgID], q.raw) {
			t.Errorf("%s: the relay got other bytes than the stored mail", q.template)
		}
		if got := parse(t, received{Data: q.raw}); got.subject() != q.subject ||
			(q.template == templates.CustomerAck && !strings.Contains(got.Text, body)) {
			t.Errorf("%s rendered with subject %q (queued %q), text:\n%s", q.template, got.subject(), q.subject, got.Text)
		}
	}
}

// A draft that cannot be rendered is not sent: it is recorded as failed on
// its ticket, and the notices queued with it still go out.
func TestUnrenderableDraftIsRecordedAsFailed(t *testing.T) {
	f := newFixture(t, nil, nil)
	tk := f.open("jane-1@user.com")
	// One draft names a notice no template renders, another a message row
	// that is gone.
	var broken, orphan int64
	err := f.pool.QueryRow(f.ctx, `UPDATE outbound_mails SET draft = '{"template": "no_such_notice"}'
		WHERE id = (SELECT min(id) FROM outbound_mails) RETURNING id`).Scan(&broken)
	if err != nil {
		t.Fatal(err)
	}
	err = f.pool.QueryRow(f.ctx, `UPDATE outbound_mails
		SET draft = jsonb_set(draft::jsonb, '{message_row}', '987654')::json
		WHERE id = (SELECT max(id) FROM outbound_mails) RETURNING id`).Scan(&orphan)
	if err != nil {
		t.Fatal(err)
	}
	var total int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM outbound_mails`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	f.deliver()
	if got := len(f.sink.received()); got != total-2 {
		t.Errorf("%d of %d notices sent, want all but the two broken ones", got, total)
	}
	for id, want := range map[int64]string{broken: "no_such_notice", orphan: "987654"} {
		var state, lastError string
		if err := f.pool.QueryRow(f.ctx, `SELECT state, last_error FROM outbound_mails WHERE id = $1`, id).
			Scan(&state, &lastError); err != nil {
			t.Fatal(err)
		}
		if state != "failed" || !strings.Contains(lastError, "cannot render") || !strings.Contains(lastError, want) {
			t.Errorf("broken draft %d: state %s, last error %q", id, state, lastError)
		}
	}
	history, err := f.store.History(f.ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var failed bool
	for _, e := range history {
		if e.Event != nil && e.Event.Action == ticket.ActionDeliveryFailed && strings.Contains(e.Event.Detail, "cannot render") {
			failed = true
		}
	}
	if !failed {
		t.Error("the ticket's history does not show the notice that could not be rendered")
	}
}

// A batch whose rendered mails are bigger than one write-back piece is
// stored in several: every notice keeps its own bytes, and they are what
// the relay got.
func TestBigRenderedBatchIsStoredInPieces(t *testing.T) {
	f := newFixture(t, nil, nil)
	tk := f.open("jane-1@user.com")
	f.deliver()
	before := len(f.sink.received())
	files := map[string][]byte{}
	for i := range 3 {
		name := fmt.Sprintf("capture-%d.pcap", i)
		content := bytes.Repeat([]byte{byte('a' + i), 0xff, byte(i)}, 700_000) // 2.1 MB each, ~2.8 MB in base64
		files[name] = content
		f.mustChange(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
			_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "trace " + name,
				Author:      ticket.AgentActor(f.ken),
				Attachments: []ticket.Attachment{{Filename: name, ContentType: "application/vnd.tcpdump.pcap", Content: content}}})
			return err
		})
	}
	f.deliver()
	got := byRecipient(t, f.sink.received()[before:])[jane]
	if len(got) != 3 {
		t.Fatalf("%d replies reached Jane, want 3", len(got))
	}
	for _, p := range got {
		if len(p.Attachments) != 1 {
			t.Fatalf("a reply with %d files", len(p.Attachments))
		}
		for name, content := range p.Attachments {
			if !bytes.Equal(content, files[name]) {
				t.Errorf("%s arrived changed (%d bytes, sent %d)", name, len(content), len(files[name]))
			}
		}
	}
	sent := map[string][]byte{}
	for _, r := range f.sink.received()[before:] {
		sent[parse(t, r).messageID()] = r.Data
	}
	for _, r := range f.rows() {
		if r.Template == templates.CustomerReply && !bytes.Equal(sent[r.MessageID], r.Raw) {
			t.Errorf("stored reply %s differs from what the relay got (%d vs %d bytes)", r.MessageID, len(r.Raw), len(sent[r.MessageID]))
		}
	}
}
