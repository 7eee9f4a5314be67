package mailer_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

const (
	msgIDDomain = "postdesk.bank.example"
	jane        = "jane@user.com"
)

type fixture struct {
	t        testing.TB
	ctx      context.Context
	pool     *pgxpool.Pool
	store    *ticket.Store
	opts     mailer.Options
	notifier *mailer.Notifier
	sink     *sink
	ken      ticket.Agent
	mary     ticket.Agent
	help     ticket.Department
	sys      ticket.Department
	support  ticket.Mailbox
}

func newFixture(t testing.TB, configure func(*mailer.Options), configureSink func(*sink)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, ctx: ctx, pool: dbtest.Pool(t)}
	f.sink = newSink(t, configureSink)
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	f.opts = mailer.Options{
		OrgName:         "Bank Example Support",
		MessageIDDomain: msgIDDomain,
		ReplySecret:     []byte("0123456789abcdef0123456789abcdef"),
		Mailboxes:       map[string]string{"support@bank.example": "Bank Support", "outage@bank.example": "Bank Outage Desk"},
		DefaultFrom:     "support@bank.example",
		Templates:       set,
		Relay:           mailer.Relay{Host: "127.0.0.1", Port: f.sink.port, TLS: "none", Timeout: 5 * time.Second},
		Queue:           mailer.Queue{PollInterval: 50 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond},
	}
	if configure != nil {
		configure(&f.opts)
	}
	f.store = ticket.NewStore(f.pool, ticket.DefaultNumbering(), nil)
	if err := f.store.SyncOrg(ctx, tickettest.ScenarioOrg()); err != nil {
		t.Fatalf("sync org: %v", err)
	}
	if f.notifier, err = mailer.NewNotifier(f.opts, f.store.Numbering()); err != nil {
		t.Fatal(err)
	}
	f.store.SetNotifier(f.notifier)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.ken, err = ticket.FindAgent(ctx, f.pool, "ken")
	must(err)
	f.mary, err = ticket.FindAgent(ctx, f.pool, "mary")
	must(err)
	f.help, err = ticket.FindDepartment(ctx, f.pool, "Help Desk")
	must(err)
	f.sys, err = ticket.FindDepartment(ctx, f.pool, "System Administrators")
	must(err)
	f.support, err = ticket.FindMailbox(ctx, f.pool, "support")
	must(err)
	return f
}

// open makes Jane's outage ticket, as it arrives by mail at support@.
func (f *fixture) open(msgID string) *ticket.Ticket {
	f.t.Helper()
	var tk *ticket.Ticket
	err := f.store.InTx(f.ctx, func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(f.ctx, ticket.NewTicket{
			Subject:      "entire mobile online banking is down",
			Customer:     ticket.Contact{Email: jane, Name: "Jane Doe"},
			DepartmentID: f.help.ID,
			Priority:     ticket.PriorityEmergency,
			MailboxID:    f.support.ID,
			Message: ticket.Message{
				Body:      "customers are reporting a 404 error when browsing to online banking",
				MessageID: msgID,
			},
		})
		return err
	})
	if err != nil {
		f.t.Fatalf("open: %v", err)
	}
	return tk
}

// change runs fn on the locked ticket in one transaction.
func (f *fixture) change(number string, fn func(tx *ticket.Tx, tk *ticket.Ticket) error) error {
	return f.store.InTx(f.ctx, func(tx *ticket.Tx) error {
		tk, err := tx.LockNumber(f.ctx, number)
		if err != nil {
			return err
		}
		return fn(tx, tk)
	})
}

func (f *fixture) mustChange(number string, fn func(tx *ticket.Tx, tk *ticket.Ticket) error) {
	f.t.Helper()
	if err := f.change(number, fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) worker() *mailer.Worker {
	f.t.Helper()
	w, err := mailer.NewWorker(f.store, f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return w
}

// deliver runs delivery rounds until nothing due is left.
func (f *fixture) deliver() {
	f.t.Helper()
	w := f.worker()
	for {
		n, err := w.DeliverBatch(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// row is an outbound_mails row as tests check it.
type row struct {
	Template, Recipient, Kind, State, MessageID, Subject, LastError string
	Automatic                                                       bool
	Attempts                                                        int
	Raw                                                             []byte
}

// rows are the queued notices, rendered as they will be sent.
func (f *fixture) rows() []row {
	f.t.Helper()
	if _, err := f.worker().RenderQueued(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	rs, err := f.pool.Query(f.ctx, `SELECT template, recipient, recipient_kind, state, message_id, subject,
		last_error, automatic, attempts, rendered FROM outbound_mails ORDER BY id`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.Template, &r.Recipient, &r.Kind, &r.State, &r.MessageID, &r.Subject,
			&r.LastError, &r.Automatic, &r.Attempts, &r.Raw); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parsed is a received mail taken apart as a mail client would.
type parsed struct {
	To          string
	Header      mail.Header
	Text, HTML  string
	Attachments map[string][]byte
}

func parse(t testing.TB, r received) parsed {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, r.Data)
	}
	p := parsed{Header: mr.Header, Attachments: map[string][]byte{}}
	if len(r.To) == 1 {
		p.To = r.To[0]
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse part: %v", err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatal(err)
		}
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			if ct == "text/html" {
				p.HTML = string(body)
			} else {
				p.Text = string(body)
			}
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			p.Attachments[name] = body
		}
	}
	return p
}

func (p parsed) get(key string) string { return p.Header.Get(key) }

func (p parsed) subject() string {
	s, _ := p.Header.Subject()
	return s
}

func (p parsed) messageID() string {
	id, _ := p.Header.MessageID()
	return id
}

func (p parsed) ids(key string) []string {
	ids, _ := p.Header.MsgIDList(key)
	return ids
}

// byRecipient parses the mails and indexes them by envelope recipient.
func byRecipient(t testing.TB, mails []received) map[string][]parsed {
	t.Helper()
	out := map[string][]parsed{}
	for _, m := range mails {
		if len(m.To) != 1 {
			t.Fatalf("one mail for %d recipients %v: notices go to one recipient each", len(m.To), m.To)
		}
		out[strings.ToLower(m.To[0])] = append(out[strings.ToLower(m.To[0])], parse(t, m))
	}
	return out
}

func recipients(m map[string][]parsed) []string {
	var out []string
	for k, v := range m {
		for range v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
