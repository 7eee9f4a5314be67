package intake_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// TestMachineFlaggedMailOpensATicketUnanswered: a monitoring system's
// alert carries "Auto-Submitted: auto-generated" and used to be
// quarantined as "machine-generated mail (bulk, list or feedback report)".
// It opens a ticket; the agents are alerted; nobody answers it
// automatically (RFC 3834). A follow-up flagged so joins its ticket, again
// unanswered.
func TestMachineFlaggedMailOpensATicketUnanswered(t *testing.T) {
	r := newAnsweringRig(t)
	alert := intaketest.Mail("Monitoring <alerts@monitor.bank.example>", "outage@bank.example",
		"CRITICAL: lb-02 health check failed", "HTTP 404 from https://online.bank.example/ for 5 minutes",
		"Auto-Submitted: auto-generated", "X-Auto-Response-Suppress: All")
	r.MustSend("alerts@monitor.bank.example", []string{"outage@bank.example"}, alert)
	in := r.Inbound(intaketest.MessageID(alert))
	if in.Outcome != "new_ticket" || in.Number == "" {
		t.Fatalf("monitoring alert: %s (%s), want a new ticket", in.Outcome, in.Reason)
	}
	tk := r.Ticket(in.Number)
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE ticket_id = $1 AND recipient = 'alerts@monitor.bank.example'`, tk.ID); n != 0 {
		t.Errorf("%d automatic answers to the monitoring system", n)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE ticket_id = $1 AND template = 'agent_new_ticket'`, tk.ID); n == 0 {
		t.Errorf("no agent was alerted of the new ticket")
	}

	// The recovery notice, a reply to the alert, joins the ticket quietly.
	recovery := intaketest.Mail("Monitoring <alerts@monitor.bank.example>", "outage@bank.example",
		"RECOVERY: lb-02 health check ok", "back to normal", "Auto-Submitted: auto-generated",
		"In-Reply-To: "+intaketest.MessageID(alert), "Subject: Re: ["+in.Number+"] CRITICAL: lb-02 health check failed")
	r.MustSend("alerts@monitor.bank.example", []string{"outage@bank.example"}, recovery)
	if in := r.Inbound(intaketest.MessageID(recovery)); in.Outcome != "follow_up" || in.Number != tk.Number {
		t.Fatalf("recovery: %s on %q (%s), want a follow-up on %s", in.Outcome, in.Number, in.Reason, tk.Number)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE ticket_id = $1 AND recipient = 'alerts@monitor.bank.example'`, tk.ID); n != 0 {
		t.Errorf("%d automatic answers to the monitoring system after its follow-up", n)
	}

	// Mail a list passed on is machine-flagged too (a support address that
	// is a Google Group adds List-Id and Precedence: list to every
	// customer's mail): a ticket, no answer.
	list := intaketest.Mail("Ann <ann@user.com>", "support@bank.example", "card blocked",
		"my card was blocked", "List-Id: <support.bank.example>", "Precedence: list",
		"List-Post: <mailto:support@bank.example>", "List-Unsubscribe: <mailto:support+unsubscribe@bank.example>")
	r.MustSend("ann@user.com", []string{"support@bank.example"}, list)
	if in := r.Inbound(intaketest.MessageID(list)); in.Outcome != "new_ticket" {
		t.Fatalf("list mail: %s (%s), want a new ticket", in.Outcome, in.Reason)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE recipient = 'ann@user.com'`); n != 0 {
		t.Errorf("%d automatic answers to list mail", n)
	}
}

// TestMachineMailQuarantinePerMailbox: an admin may keep machine-flagged
// mail of one mailbox in quarantine; the reason names the header that
// decided, not "bulk, list or feedback report" for an Auto-Submitted mail.
func TestMachineMailQuarantinePerMailbox(t *testing.T) {
	r := newRig(t, nil, func(o *intake.Options, _ *listener.Config) {
		o.QuarantineMachineMail = map[string]bool{"support@bank.example": true}
	})
	held := intaketest.Mail("Monitoring <alerts@monitor.bank.example>", "support@bank.example",
		"disk full", "/var at 99%", "Auto-Submitted: auto-generated")
	r.MustSend("alerts@monitor.bank.example", []string{"support@bank.example"}, held)
	in := r.Inbound(intaketest.MessageID(held))
	if in.Outcome != "quarantined" || !strings.Contains(in.Reason, "Auto-Submitted: auto-generated") ||
		strings.Contains(in.Reason, "bulk, list") {
		t.Errorf("support mailbox: %s (%s), want quarantined naming Auto-Submitted", in.Outcome, in.Reason)
	}
	// The other mailbox keeps the default.
	taken := intaketest.Mail("Monitoring <alerts@monitor.bank.example>", "outage@bank.example",
		"site down", "HTTP 404", "Auto-Submitted: auto-generated")
	r.MustSend("alerts@monitor.bank.example", []string{"outage@bank.example"}, taken)
	if in := r.Inbound(intaketest.MessageID(taken)); in.Outcome != "new_ticket" {
		t.Errorf("outage mailbox: %s (%s), want a new ticket", in.Outcome, in.Reason)
	}
}

// TestAutoRepliesAndBouncesStillOpenNothing: with machine-flagged mail
// opening tickets, what RFC 3834 calls auto-replies still never do, nor bulk
// mail, and get no answer; bulk mail and feedback reports are quarantined
// with the header that decided.
func TestAutoRepliesAndBouncesStillOpenNothing(t *testing.T) {
	r := newAnsweringRig(t)
	for _, c := range []struct {
		name, raw, outcome, reason string
	}{
		{"auto-replied", intaketest.Mail("Carol <carol@corp.example>", "support@bank.example", "Away until May 5",
			"I am away", "Auto-Submitted: auto-replied"), "ignored", "auto-reply to no ticket"},
		{"bulk out of office", intaketest.Mail("Dieter <dieter@firma.example>", "support@bank.example",
			"Abwesenheitsnotiz: Ihre Anfrage", "bis Montag nicht im Büro", "Precedence: bulk"), "ignored", "auto-reply"},
		{"newsletter", intaketest.Mail("News <news@shop.example>", "support@bank.example", "Our offers", "buy",
			"Precedence: bulk", "List-Id: <offers.shop.example>"), "quarantined", "bulk mail (Precedence: bulk)"},
		{"newsletter without Precedence", intaketest.Mail("Shop <news@shop.example>", "support@bank.example", "Deals",
			"buy", "List-Id: <deals.shop.example>", "List-Unsubscribe: <https://shop.example/u>", "Auto-Submitted: auto-generated"),
			"quarantined", "bulk mail (List-Unsubscribe without List-Post)"},
		{"unsubscribe report", intaketest.Mail("Apple <noreply@apple.example>", "support@bank.example",
			"unsubscribe", "unsubscribe", "X-Apple-Unsubscribe: true"), "quarantined", "feedback report (X-Apple-Unsubscribe: true)"},
	} {
		r.MustSend("x@example.org", []string{"support@bank.example"}, c.raw)
		in := r.Inbound(intaketest.MessageID(c.raw))
		if in.Outcome != c.outcome || !strings.Contains(in.Reason, c.reason) || in.Number != "" {
			t.Errorf("%s: %s (%s) ticket %q, want %s (%s)", c.name, in.Outcome, in.Reason, in.Number, c.outcome, c.reason)
		}
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 0 {
		t.Errorf("%d tickets opened", n)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails`); n != 0 {
		t.Errorf("%d notices queued", n)
	}
}

// TestSubjectWordsAloneAreNoAutoReply: a person's "Out of office printer
// is broken" used to be ignored as an auto-reply. Subject words without a
// header signal make a ticket like any mail, with its acknowledgement; an
// Exchange rule's forward (auto-generated, "FW: Out of office: …") makes a
// ticket without one.
func TestSubjectWordsAloneAreNoAutoReply(t *testing.T) {
	r := newAnsweringRig(t)
	human := intaketest.Mail("Paul Meyer <paul@firma.example>", "support@bank.example",
		"Out of office printer is broken", "the printer in the back office jams on every page")
	r.MustSend("paul@firma.example", []string{"support@bank.example"}, human)
	in := r.Inbound(intaketest.MessageID(human))
	if in.Outcome != "new_ticket" {
		t.Fatalf("human mail: %s (%s), want a new ticket", in.Outcome, in.Reason)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE template = 'customer_ack' AND recipient = 'paul@firma.example'`); n != 1 {
		t.Errorf("%d acknowledgements to the person, want 1", n)
	}

	forward := intaketest.Mail("Laura Chen <laura.chen@partner.example>", "support@bank.example",
		"FW: Out of office: statements for November missing", "The November statements are missing.",
		"Auto-Submitted: auto-generated", "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
		"X-MS-Exchange-Inbox-Rules-Loop: laura.chen@partner.example", "X-Auto-Response-Suppress: All")
	r.MustSend("laura.chen@partner.example", []string{"support@bank.example"}, forward)
	if in := r.Inbound(intaketest.MessageID(forward)); in.Outcome != "new_ticket" {
		t.Fatalf("rule-forwarded mail: %s (%s), want a new ticket", in.Outcome, in.Reason)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE recipient = 'laura.chen@partner.example'`); n != 0 {
		t.Errorf("%d automatic answers to a rule-forwarded mail", n)
	}
}

// TestIgnoredMailCanBeReplayed: ignored mail is kept and can be run through
// intake again like quarantined mail, under the configuration of the day.
// Here mail from an address that was one of our own is ignored; once the
// admin has taken that address off the list, its replay opens a ticket,
// and the ticket's history says the mail had been ignored, and why.
func TestIgnoredMailCanBeReplayed(t *testing.T) {
	r := newAnsweringRig(t)
	ctx := context.Background()
	raw := intaketest.Mail("Help Desk <helpdesk@bank.example>", "support@bank.example", "printer on floor 3",
		"the printer on floor 3 is out of toner")
	r.MustSend("helpdesk@bank.example", []string{"support@bank.example"}, raw)
	if in := r.Inbound(intaketest.MessageID(raw)); in.Outcome != "ignored" {
		t.Fatalf("mail from our own address: %s (%s), want ignored", in.Outcome, in.Reason)
	}
	list, err := intake.StoredMails(ctx, r.Org.Store.Pool(), intake.OutcomeIgnored, math.MaxInt32)
	if err != nil || len(list) != 1 {
		t.Fatalf("ignored mails: %v %v", list, err)
	}
	proc, err := intake.NewProcessor(ctx, r.Org.Store, intake.Options{MessageIDDomain: "bank.example",
		ReplySecret: intaketest.ReplySecret, Logger: intaketest.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := proc.Replay(ctx, list[0].ID)
	if err != nil {
		t.Fatalf("replay of ignored mail: %v", err)
	}
	if res.Was != intake.OutcomeIgnored || res.Outcome != intake.OutcomeNewTicket || res.TicketNumber == "" {
		t.Fatalf("replay: was %s, now %s ticket %q (%s)", res.Was, res.Outcome, res.TicketNumber, res.Reason)
	}
	var replayed bool
	for _, e := range r.events(res.TicketNumber) {
		if e.Action == "mail_replayed" && strings.Contains(e.Detail, "ignored: sent from one of our own addresses") {
			replayed = true
		}
	}
	if !replayed {
		t.Errorf("history lacks the replay of the ignored mail: %+v", r.events(res.TicketNumber))
	}
	if _, err := proc.Replay(ctx, list[0].ID); !errors.Is(err, intake.ErrNotQuarantined) {
		t.Errorf("second replay: %v, want ErrNotQuarantined", err)
	}
}
