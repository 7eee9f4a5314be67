package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/ticket"
)

// notice stores an outbound mail for the ticket as the mailer would, and
// returns its Message-ID.
func (r *rig) notice(number, recipient string) string {
	r.T.Helper()
	id := "pd." + number + "." + strings.ReplaceAll(recipient, "@", ".") + "@bank.example"
	_, err := r.Org.Store.Pool().Exec(context.Background(), `
		INSERT INTO outbound_mails (ticket_id, message_id, template, recipient, recipient_kind, mail_from, rendered, state)
		SELECT id, $2, 'customer_ack', $3, 'customer', 'outage@bank.example', '', 'sent' FROM tickets WHERE number = $1`,
		number, id, recipient)
	if err != nil {
		r.T.Fatal(err)
	}
	return id
}

func (r *rig) followUp(raw string, wantRule, wantNumber string) {
	r.T.Helper()
	in := r.Inbound(intaketest.MessageID(raw))
	if in.Outcome != "follow_up" || in.Rule != wantRule || in.Number != wantNumber {
		r.T.Fatalf("outcome %s rule %q ticket %s (%s); want follow_up by %s on %s",
			in.Outcome, in.Rule, in.Number, in.Reason, wantRule, wantNumber)
	}
}

func TestThreadingRules(t *testing.T) {
	r := newRig(t, nil, nil)
	number, janeID := r.open()
	tk := r.Ticket(number)

	// 1. Our own Message-ID in In-Reply-To, whatever the subject says.
	ack := r.notice(number, "jane@user.com")
	raw := intaketest.Mail("jane@user.com", "outage@bank.example", "Re: something else entirely", "any news?",
		"In-Reply-To: <"+ack+">", "References: <"+janeID+"> <"+ack+">")
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
	r.followUp(raw, intake.RuleOwnMessageID, number)

	// 2. A signed reply address, with no other clue.
	addr := ticket.SignedReplyAddress("outage@bank.example", number, ticket.ReplyRecipient{ID: tk.CustomerID},
		ticket.ReplyKey(intaketest.ReplySecret, nil))
	raw = intaketest.Mail("jane@user.com", addr, "still down", "still down here")
	r.MustSend("jane@user.com", []string{addr}, raw)
	r.followUp(raw, intake.RuleReplyAddress, number)

	// A forged signature is no proof: the mail opens a new ticket.
	forged := strings.Replace(addr, ".c", ".c9", 1)
	raw = intaketest.Mail("jane@user.com", forged, "forged", "forged address")
	r.MustSend("jane@user.com", []string{forged}, raw)
	if in := r.Inbound(intaketest.MessageID(raw)); in.Outcome != "new_ticket" {
		t.Fatalf("forged reply address: %s on %s", in.Outcome, in.Number)
	}

	// 3. The subject token from the customer.
	raw = intaketest.Mail("Jane <JANE@user.com>", "outage@bank.example", "Re: [#"+number+"] entire mobile online banking is down", "hello?")
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
	r.followUp(raw, intake.RuleSubjectToken, number)

	// 4. Another stored Message-ID: a reply to Jane's own first mail.
	raw = intaketest.Mail("jane@user.com", "outage@bank.example", "Re: my mail", "adding a screenshot", "In-Reply-To: <"+janeID+">")
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
	r.followUp(raw, intake.RuleKnownMessageID, number)

	var customerMsgs int
	for _, ev := range r.events(number) {
		if ev.Action == ticket.ActionCustomerMessage {
			customerMsgs++
		}
	}
	if customerMsgs != 4 {
		t.Fatalf("%d customer messages on the ticket, want 4", customerMsgs)
	}
}

// A stranger's mail carrying a valid token opens a new ticket; the event says why.
func TestStrangerWithTokenOpensNewTicket(t *testing.T) {
	r := newRig(t, nil, nil)
	number, _ := r.open()
	raw := intaketest.Mail("mallory@evil.example", "outage@bank.example", "Re: [#"+number+"] entire mobile online banking is down", "let me in")
	r.MustSend("mallory@evil.example", []string{"outage@bank.example"}, raw)
	in := r.Inbound(intaketest.MessageID(raw))
	if in.Outcome != "new_ticket" || in.Number == number {
		t.Fatalf("stranger's mail: %s on %s", in.Outcome, in.Number)
	}
	evs := r.events(in.Number)
	last := evs[len(evs)-1]
	if last.Action != ticket.ActionThreadRefused || !strings.Contains(last.Detail, number) ||
		!strings.Contains(last.Detail, "mallory@evil.example") {
		t.Fatalf("event %+v", last)
	}
	for _, ev := range r.events(number) {
		if ev.Action != ticket.ActionOpened {
			t.Fatalf("Jane's ticket changed: %+v", ev)
		}
	}
	// A collaborator may use the token.
	if err := r.Org.Store.InTx(context.Background(), func(tx *ticket.Tx) error {
		tk, err := tx.LockNumber(context.Background(), number)
		if err != nil {
			return err
		}
		_, err = tx.AddCollaborator(context.Background(), tk, ticket.AgentActor(r.Org.Ken), ticket.Contact{Email: "bob@user.com"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	raw = intaketest.Mail("bob@user.com", "outage@bank.example", "Re: [#"+number+"] down", "same here")
	r.MustSend("bob@user.com", []string{"outage@bank.example"}, raw)
	r.followUp(raw, intake.RuleSubjectToken, number)
}

func TestMachinesNeverOpenTickets(t *testing.T) {
	r := newRig(t, nil, nil)
	number, _ := r.open()
	ack := r.notice(number, "jane@user.com")

	// An out-of-office answer to our acknowledgement is recorded quietly.
	ooo := intaketest.Mail("jane@user.com", "outage@bank.example", "Out of office: [#"+number+"] down", "I am away until Monday.",
		"Auto-Submitted: auto-replied", "In-Reply-To: <"+ack+">")
	r.MustSend("", []string{"outage@bank.example"}, ooo)
	if in := r.Inbound(intaketest.MessageID(ooo)); in.Outcome != "ignored" || in.Number != number {
		t.Fatalf("auto-reply: %s on %q (%s)", in.Outcome, in.Number, in.Reason)
	}
	evs := r.events(number)
	if last := evs[len(evs)-1]; last.Action != ticket.ActionAutoReply {
		t.Fatalf("last event %+v, want auto_reply_received", last)
	}
	if r.Ticket(number).Status != ticket.StatusOpen || r.Count(`SELECT count(*) FROM messages`) != 1 {
		t.Fatal("an auto-reply became a message")
	}

	// An auto-reply to nothing and bulk mail open nothing. (Mail a list or
	// a monitoring system sent opens a ticket unanswered: machine_test.go.)
	for _, raw := range []string{
		intaketest.Mail("bot@user.com", "support@bank.example", "Automatic reply", "away", "X-Autoreply: yes"),
		intaketest.Mail("news@shop.example", "support@bank.example", "Our offers", "buy", "Precedence: bulk"),
		intaketest.Mail("deals@shop.example", "support@bank.example", "Deals", "buy", "List-Unsubscribe: <mailto:u@shop.example>"),
	} {
		r.MustSend("x@y.example", []string{"support@bank.example"}, raw)
		if in := r.Inbound(intaketest.MessageID(raw)); in.Outcome == "new_ticket" || in.Outcome == "follow_up" {
			t.Fatalf("machine mail became %s: %s", in.Outcome, raw[:80])
		}
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets, want only Jane's", n)
	}
}

// A bounce of one of our notices is a delivery failure on that ticket.
func TestBounceOfNoticeRecordedOnTicket(t *testing.T) {
	r := newRig(t, nil, nil)
	number, _ := r.open()
	ack := r.notice(number, "jane@user.com")
	dsn := strings.Join([]string{
		"From: Mail Delivery System <MAILER-DAEMON@mx.user.com>",
		"To: outage@bank.example",
		"Subject: Undelivered Mail Returned to Sender",
		"Date: Fri, 27 Nov 2026 09:05:00 +0000",
		"Message-ID: <bounce-1@mx.user.com>",
		"Auto-Submitted: auto-replied",
		"MIME-Version: 1.0",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="B"`,
		"",
		"--B",
		"Content-Type: text/plain",
		"",
		"I'm sorry to have to inform you that your message could not be delivered.",
		"--B",
		"Content-Type: message/delivery-status",
		"",
		"Reporting-MTA: dns; mx.user.com",
		"",
		"Final-Recipient: rfc822; jane@user.com",
		"Action: failed",
		"Status: 5.2.2",
		"Diagnostic-Code: smtp; 552 5.2.2 mailbox full",
		"",
		"--B",
		"Content-Type: text/rfc822-headers",
		"",
		"From: Bank Outage Desk <outage@bank.example>",
		"To: jane@user.com",
		"Subject: [#" + number + "] entire mobile online banking is down",
		"Message-ID: <" + ack + ">",
		"",
		"--B--",
		"",
	}, "\r\n")
	r.MustSend("", []string{"outage@bank.example"}, dsn)
	in := r.Inbound("bounce-1@mx.user.com")
	if in.Outcome != "ignored" || in.Number != number {
		t.Fatalf("bounce: %s on %q (%s)", in.Outcome, in.Number, in.Reason)
	}
	evs := r.events(number)
	last := evs[len(evs)-1]
	if last.Action != ticket.ActionDeliveryFailed || last.New != "jane@user.com" || !strings.Contains(last.Detail, "5.2.2") {
		t.Fatalf("event %+v", last)
	}
	var state string
	if err := r.Org.Store.Pool().QueryRow(context.Background(), `SELECT state FROM outbound_mails WHERE message_id = $1`, ack).
		Scan(&state); err != nil || state != "failed" {
		t.Fatalf("notice state %q err %v", state, err)
	}
}

func TestLoopsBansAndFilters(t *testing.T) {
	r := newRig(t, nil, func(o *intake.Options, _ *listener.Config) {
		o.Ban = []string{"spammer@example.com", "@spam.example"}
		o.Filters = []intake.Filter{
			{Name: "vip", Match: func(from string, _ []string, _, _ string) bool { return strings.HasSuffix(from, "@bigcorp.example") },
				Priority: ticket.PriorityHigh, Department: "System Administrators", AddCollaborator: "am@bank-partner.example"},
			{Name: "fraud", Match: func(_ string, _ []string, subject, _ string) bool {
				return strings.Contains(subject, "invoice overdue")
			},
				Quarantine: "suspected invoice fraud"},
			{Name: "nope", Match: func(_ string, _ []string, _, body string) bool { return strings.Contains(body, "unsubscribe me") },
				Reject: "not a support request"},
		}
	})
	cases := []struct {
		raw, outcome, reason string
	}{
		{intaketest.Mail("support@bank.example", "outage@bank.example", "loop", "from ourselves"), "ignored", "our own addresses"},
		{intaketest.Mail("someone@else.example", "support@bank.example", "[#123456] notice", "x", "X-Postdesk-Loop: bank.example"), "ignored", "postdesk itself"},
		{intaketest.Mail("spammer@example.com", "support@bank.example", "hi", "x"), "quarantined", "banned"},
		{intaketest.Mail("x@SPAM.example", "support@bank.example", "hi", "x"), "quarantined", "banned"},
		{intaketest.Mail("clerk@shop.example", "support@bank.example", "invoice overdue", "pay"), "quarantined", "suspected invoice fraud"},
		{intaketest.Mail("clerk@shop.example", "support@bank.example", "please", "unsubscribe me"), "rejected", "not a support request"},
	}
	for _, c := range cases {
		r.MustSend("x@y.example", []string{"support@bank.example"}, c.raw)
		in := r.Inbound(intaketest.MessageID(c.raw))
		if in.Outcome != c.outcome || !strings.Contains(in.Reason, c.reason) || in.Number != "" {
			t.Errorf("%s: outcome %s (%s) ticket %q; want %s (%s)", intaketest.MessageID(c.raw), in.Outcome, in.Reason, in.Number, c.outcome, c.reason)
		}
	}
	raw := intaketest.Mail("boss@bigcorp.example", "support@bank.example", "vip", "important")
	r.MustSend("boss@bigcorp.example", []string{"support@bank.example"}, raw)
	tk := r.Ticket(r.Inbound(intaketest.MessageID(raw)).Number)
	cc, _ := ticket.Collaborators(context.Background(), r.Org.Store.Pool(), tk.ID)
	if tk.Priority != ticket.PriorityHigh || tk.DepartmentName != "System Administrators" || len(cc) != 1 {
		t.Fatalf("filtered ticket %+v, collaborators %+v", tk, cc)
	}
}
