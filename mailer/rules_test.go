package mailer_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/notice"
)

func TestAutoReplyLimit(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) { o.AutoReplyLimit = 2 }, nil)
	var last *ticket.Ticket
	for i := 0; i < 3; i++ {
		last = f.open("")
	}
	f.deliver()
	var acks, suppressed, alerts int
	for _, r := range f.rows() {
		switch {
		case r.Template == "customer_ack" && r.State == "sent":
			acks++
		case r.Template == "customer_ack" && r.State == "suppressed":
			suppressed++
			if !strings.Contains(r.LastError, "2 automatic mails") {
				t.Errorf("suppressed without a reason: %q", r.LastError)
			}
		case r.Template == "agent_new_ticket" && r.State == "sent":
			alerts++
		}
	}
	if acks != 2 || suppressed != 1 || alerts != 6 {
		t.Fatalf("acks sent %d, suppressed %d, agent alerts %d; want 2, 1, 6", acks, suppressed, alerts)
	}
	got := byRecipient(t, f.sink.received())
	if len(got[jane]) != 2 {
		t.Fatalf("Jane received %d mails, want 2", len(got[jane]))
	}
	// A person's reply is never held back by the cap.
	got = f.step(last.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "looking into it", Author: ticket.AgentActor(f.ken)})
		return err
	})
	wantRecipients(t, got, jane)
	// The suppressed acknowledgement is visible in the ticket's history.
	if show := f.show(last); !strings.Contains(show, "notice customer_ack to jane@user.com (suppressed)") {
		t.Errorf("ticket show:\n%s", show)
	}
}

// Who is told of each change is ticket/notice's policy and tested there;
// the tests below check what those notices look like once rendered.

// TestNoteBesideResolution: a note and a resolution in one change. The
// customer's resolution mail never carries the note; the agent's mail
// names who resolved and carries it.
func TestNoteBesideResolution(t *testing.T) {
	f := newFixture(t, nil, nil)
	ken := ticket.AgentActor(f.ken)
	tk := f.open("jane-1@user.com")
	f.deliver()
	// Mary's note makes her one who worked the ticket.
	f.mustChange(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: secretNote, Author: ticket.AgentActor(f.mary)})
		return err
	})
	f.deliver()
	got := f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if _, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: secretNote, Author: ken}); err != nil {
			return err
		}
		return tx.SetStatus(f.ctx, tk, ken, ticket.StatusResolved)
	})
	if len(got[jane]) != 1 || len(got["mary@bank.example"]) != 1 {
		t.Fatalf("mails went to %v, want one each to Jane and Mary among them", recipients(got))
	}
	if res := got[jane][0]; strings.Contains(res.Text, "rack 4") || strings.Contains(res.HTML, "rack 4") {
		t.Errorf("the customer's resolution notice carries the internal note:\n%s", res.Text)
	}
	if mr := got["mary@bank.example"][0]; !strings.Contains(mr.Text, "Ken Jay resolved") || !strings.Contains(mr.Text, "rack 4") {
		t.Errorf("agent resolution notice:\n%s", mr.Text)
	}
}

// TestCollaboratorMails: a collaborator's mail has their own signed reply
// address and a thread that starts at the ticket's first mail; the closing
// notice, where switched on, is automatic.
func TestCollaboratorMails(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) {
		sw := notice.DefaultSwitches()
		// No acknowledgement: Bob's first mail is the reply below.
		sw.CustomerAck, sw.CustomerClosed = false, true
		o.Departments = map[string]mailer.Notices{"help desk": sw}
	}, nil)
	mary := ticket.AgentActor(f.mary)
	var tk *ticket.Ticket
	err := f.store.InTx(f.ctx, func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(f.ctx, ticket.NewTicket{Subject: "statement missing", Customer: ticket.Contact{Email: jane, Name: "Jane Doe"},
			DepartmentID: f.help.ID, MailboxID: f.support.ID, Message: ticket.Message{Body: "where is my statement", MessageID: "jane-9@user.com"},
			Collaborators: []ticket.Contact{{Email: "Bob@User.com", Name: "Bob"}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.deliver()

	got := f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "it is on its way", Author: mary})
		return err
	})
	wantRecipients(t, got, jane, "bob@user.com")
	var bobID int64
	if err := f.pool.QueryRow(f.ctx, `SELECT id FROM customers WHERE lower(email) = 'bob@user.com'`).Scan(&bobID); err != nil {
		t.Fatal(err)
	}
	f.checkReplyTo(t, got["bob@user.com"][0], tk.Number, ticket.ReplyRecipient{ID: bobID}, nil)
	checkThread(t, got["bob@user.com"][0], "jane-9@user.com")

	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.SetStatus(f.ctx, tk, mary, ticket.StatusClosed)
	})
	wantRecipients(t, got, jane, "bob@user.com")
	checkCommon(t, got[jane][0], tk.Number, "auto-generated")
	if !strings.Contains(got[jane][0].Text, "has been closed") {
		t.Errorf("closing notice:\n%s", got[jane][0].Text)
	}
}

func TestAttachmentsTravel(t *testing.T) {
	f := newFixture(t, nil, nil)
	tk := f.open("jane-1@user.com")
	f.deliver()
	pdf := bytes.Repeat([]byte("%PDF-1.7 report "), 100)
	got := f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "see the report", Author: ticket.AgentActor(f.ken),
			Attachments: []ticket.Attachment{{Filename: "incident report.pdf", ContentType: "application/pdf", Content: pdf}}})
		return err
	})
	wantRecipients(t, got, jane)
	p := got[jane][0]
	if !bytes.Equal(p.Attachments["incident report.pdf"], pdf) {
		t.Fatalf("attachments received: %d files", len(p.Attachments))
	}
	if !strings.Contains(p.Text, "incident report.pdf") {
		t.Errorf("the text does not name the attachment:\n%s", p.Text)
	}
	// Over the size limit, files are named but not copied.
	f.opts.MaxAttachmentBytes = 100
	n, err := mailer.NewNotifier(f.opts, f.store.Numbering())
	if err != nil {
		t.Fatal(err)
	}
	f.store.SetNotifier(n)
	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindCustomer, Body: "here is the log",
			Author:      ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID, Email: jane},
			Attachments: []ticket.Attachment{{Filename: "big.log", Content: pdf}}})
		return err
	})
	wantRecipients(t, got, "ken.jay@bank.example", "helpdesk@bank.example")
	if k := got["ken.jay@bank.example"][0]; len(k.Attachments) != 0 || !strings.Contains(k.Text, "big.log") {
		t.Errorf("over the limit: %d files attached, text:\n%s", len(k.Attachments), k.Text)
	}
}

func TestOptionsCheck(t *testing.T) {
	err := mailer.Options{Relay: mailer.Relay{TLS: "sometimes", Auth: "plain"}}.Check()
	if err == nil {
		t.Fatal("empty options accepted")
	}
	for _, want := range []string{"message ID domain", "reply secret", "templates", "no mailbox", "relay host", "TLS", "username and a password"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check error lacks %q:\n%v", want, err)
		}
	}
	f := newFixture(t, nil, nil)
	if err := f.opts.Check(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	bad := f.opts
	bad.Mailboxes = map[string]string{"Support@bank.example": ""}
	bad.DKIM = &mailer.DKIM{Domain: "bank.example"}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "lower case") || !strings.Contains(err.Error(), "DKIM") {
		t.Errorf("bad mailbox key and DKIM: %v", err)
	}
	if _, err := mailer.NewWorker(f.store, bad); err == nil {
		t.Error("NewWorker accepted an incomplete DKIM key")
	}
}
