package listener_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

func TestSMTPMailOpensTicket(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	raw := intaketest.Mail("Jane Doe <jane@user.com>", "Outage Desk <outage@bank.example>", "entire mobile online banking is down",
		"customers are reporting a 404 error when browsing to online banking", "Cc: Bob <bob@user.com>, Help <helpdesk@bank.example>")
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)

	in := r.Inbound(intaketest.MessageID(raw))
	if in.Outcome != "new_ticket" || !bytes.Equal(in.Raw, []byte(raw)) {
		t.Fatalf("stored outcome %s, raw kept byte for byte: %v", in.Outcome, bytes.Equal(in.Raw, []byte(raw)))
	}
	tk := r.Ticket(in.Number)
	if tk.Subject != "entire mobile online banking is down" || tk.Priority != ticket.PriorityEmergency ||
		tk.DepartmentName != "Help Desk" || tk.HelpTopicName != "Business critical outage" ||
		tk.CustomerEmail != "jane@user.com" || tk.CustomerName != "Jane Doe" || tk.MailboxName != "outage" {
		t.Fatalf("ticket %+v", tk)
	}
	cc, err := ticket.Collaborators(context.Background(), r.Org.Store.Pool(), tk.ID)
	if err != nil || len(cc) != 1 || cc[0].Email != "bob@user.com" {
		t.Fatalf("collaborators %+v (our own address must not be one) err %v", cc, err)
	}
	h, _ := r.Org.Store.History(context.Background(), tk.ID)
	if h[0].Message == nil || !strings.Contains(h[0].Message.Body, "404 error") || h[0].Message.InboundMailID == 0 {
		t.Fatalf("first message %+v", h[0].Message)
	}

	// The general address routes to Help Desk at normal priority.
	raw = intaketest.Mail("max@user.com", "support@bank.example", "password reset", "please reset my password")
	r.MustSend("max@user.com", []string{"support@bank.example"}, raw)
	tk = r.Ticket(r.Inbound(intaketest.MessageID(raw)).Number)
	if tk.Priority != ticket.PriorityNormal || tk.DepartmentName != "Help Desk" || tk.HelpTopicID != 0 {
		t.Fatalf("support ticket %+v", tk)
	}
}

func TestUnknownRecipientIs550(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	err := r.Send("jane@user.com", []string{"sales@bank.example"}, intaketest.Mail("jane@user.com", "sales@bank.example", "hi", "x"))
	if smtpCode(err) != 550 {
		t.Fatalf("unknown recipient: %v, want 550", err)
	}
	err = r.Send("jane@user.com", []string{"someone@elsewhere.example"}, intaketest.Mail("jane@user.com", "x@elsewhere.example", "relay?", "x"))
	if smtpCode(err) != 550 {
		t.Fatalf("relay attempt: %v, want 550", err)
	}
	// +tag variants of a mailbox are ours.
	raw := intaketest.Mail("jane@user.com", "support+billing@bank.example", "tagged", "x")
	r.MustSend("jane@user.com", []string{"support+billing@bank.example"}, raw)
	if r.Inbound(intaketest.MessageID(raw)).Outcome != "new_ticket" {
		t.Fatal("+tag address did not open a ticket")
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
}

func TestOversizedMailIs552(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	big := intaketest.Mail("jane@user.com", "support@bank.example", "huge", strings.Repeat("0123456789abcdef\n", 8<<10))
	if err := r.Send("jane@user.com", []string{"support@bank.example"}, big); smtpCode(err) != 552 {
		t.Fatalf("oversized: %v, want 552", err)
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 0 {
		t.Fatalf("%d mails stored from a refused one", n)
	}
}

func TestNullSenderAccepted(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	raw := intaketest.Mail("MAILER-DAEMON@mx.user.com", "support@bank.example", "Undelivered Mail Returned to Sender",
		"This is the mail system at host mx.user.com.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<nobody@user.com>: host mx.user.com said: 550 5.1.1 User unknown")
	r.MustSend("", []string{"support@bank.example"}, raw)
	in := r.Inbound(intaketest.MessageID(raw))
	if in.Outcome == "new_ticket" || in.Outcome == "follow_up" {
		t.Fatalf("bounce became %s", in.Outcome)
	}
}

func TestDuplicateMailIsStoredOnce(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	raw := intaketest.Mail("jane@user.com", "support@bank.example", "twice", "same mail, sent twice")
	r.MustSend("jane@user.com", []string{"support@bank.example"}, raw)
	r.MustSend("jane@user.com", []string{"support@bank.example"}, raw)
	// The same mail through another path (IMAP) is absorbed too.
	res, err := r.Proc.Deliver(context.Background(), intake.Envelope{Transport: intake.TransportIMAP,
		MailboxID: r.Org.Support.ID, IMAPUIDValidity: 7, IMAPUID: 1}, []byte(raw))
	if err != nil || !res.Duplicate || res.Outcome != intake.OutcomeNewTicket {
		t.Fatalf("third delivery: %+v %v", res, err)
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets from one mail", n)
	}
	// A mail without Message-ID is keyed by its content: same bytes, one mail;
	// other bytes, another.
	noID := strings.Replace(intaketest.Mail("jane@user.com", "support@bank.example", "no id", "body one"), "Message-ID:", "X-Old-Id:", 1)
	r.MustSend("jane@user.com", []string{"support@bank.example"}, noID)
	r.MustSend("jane@user.com", []string{"support@bank.example"}, noID)
	r.MustSend("jane@user.com", []string{"support@bank.example"}, strings.Replace(noID, "body one", "body two", 1))
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 3 {
		t.Fatalf("%d tickets, want 3 (one per distinct mail without Message-ID)", n)
	}
}

func TestConcurrentDuplicatesMakeOneTicket(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	raw := intaketest.Mail("jane@user.com", "support@bank.example", "race", "sent by two MTAs at once")
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.Send("jane@user.com", []string{"support@bank.example"}, raw)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets from one mail sent 6 times at once", n)
	}
}

// With PostgreSQL unreachable the client gets 451 and nothing is stored;
// once it is back, the retried mail makes exactly one ticket.
func TestDatabaseDownIs451ThenRetryMakesOneTicket(t *testing.T) {
	url := dbtest.URL(t)
	proxy := dbtest.NewProxy(t, url)
	store := ticket.NewStore(proxy.Pool(t, url), ticket.DefaultNumbering(), nil)
	r := intaketest.New(t, store, nil)
	raw := intaketest.Mail("jane@user.com", "support@bank.example", "during the outage", "is anyone there?")

	proxy.Cut()
	err := r.Send("jane@user.com", []string{"support@bank.example"}, raw)
	if smtpCode(err) != 451 {
		t.Fatalf("database down: %v, want 451", err)
	}
	if strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(strings.ToLower(err.Error()), "postgres") {
		t.Fatalf("reply leaks internals: %v", err)
	}
	proxy.Restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = r.Send("jane@user.com", []string{"support@bank.example"}, raw)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	r.MustSend("jane@user.com", []string{"support@bank.example"}, raw) // the MTA retries once more
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets, want exactly one", n)
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 1 {
		t.Fatalf("%d stored mails, want one", n)
	}
}

func TestLMTPAnswersPerRecipient(t *testing.T) {
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) { lc.LMTP = true })
	raw := intaketest.Mail("jane@user.com", "support@bank.example, outage@bank.example", "two desks", "one mail for two mailboxes")
	conn, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("mta.bank.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("jane@user.com", nil); err != nil {
		t.Fatal(err)
	}
	for _, rc := range []string{"support@bank.example", "outage@bank.example"} {
		if err := c.Rcpt(rc, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Rcpt("nobody@bank.example", nil); smtpCode(err) != 550 {
		t.Fatalf("unknown LMTP recipient: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := w.CloseWithLMTPResponse()
	if err != nil || len(resp) != 2 || resp["support@bank.example"] == nil || resp["outage@bank.example"] == nil {
		t.Fatalf("per-recipient replies %v, err %v", resp, err)
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets, want one for a mail to two mailboxes", n)
	}
}

// Found by the IMAP poller's tests: a malformed Message-ID must not merge
// unrelated mails, and a NUL byte must not make a mail impossible to commit.
func TestBrokenIDsAndNULsAreStored(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	a := intaketest.Mail("f@b.example", "support@bank.example", "printer jam", "the printer is jammed", "Message-ID: not-an-id")
	b := intaketest.Mail("g@b.example", "support@bank.example", "password reset", "please reset it", "Message-ID: not-an-id")
	r.MustSend("f@b.example", []string{"support@bank.example"}, a)
	r.MustSend("g@b.example", []string{"support@bank.example"}, b)
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 2 {
		t.Fatalf("%d tickets from two different mails sharing a broken Message-ID", n)
	}
	r.MustSend("f@b.example", []string{"support@bank.example"}, a) // the same mail again is still one
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 2 {
		t.Fatalf("%d stored mails, want 2", n)
	}
	nul := intaketest.Mail("k@b.example", "support@bank.example", "nul", "hel=00lo", "Content-Transfer-Encoding: quoted-printable")
	r.MustSend("k@b.example", []string{"support@bank.example"}, nul)
	if in := r.Inbound(intaketest.MessageID(nul)); in.Outcome != "new_ticket" {
		t.Fatalf("mail with a NUL: %s (%s)", in.Outcome, in.Reason)
	}
}

// Input that is no mail at all, handed over without recipients (as a tool
// could), is kept in quarantine with the reason rather than crashing intake.
func TestNoMailWithoutRecipientsIsQuarantined(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	res, err := r.Proc.Deliver(context.Background(), intake.Envelope{Transport: intake.TransportSMTP}, []byte("\r\n \r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != intake.OutcomeQuarantined || !strings.Contains(res.Reason, "not a mail") {
		t.Fatalf("result %+v, want quarantined as not a mail", res)
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails WHERE outcome = 'quarantined' AND raw = $1`, []byte("\r\n \r\n")); n != 1 {
		t.Fatalf("%d stored copies, want 1", n)
	}
}

// smtpCode is the reply code of an SMTP error, 0 for any other error.
func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
