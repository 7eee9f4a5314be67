package intake_test

import (
	"fmt"
	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/listener"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/ticket"
)

// botMail is what a misbehaving bot at addr sends back within a second of
// each notice: a reply on the ticket, no Auto-Submitted or other header
// that says a machine wrote it.
func botMail(from, number string, i int) string {
	return intaketest.Mail(from, "outage@bank.example", "Re: [#"+number+"] entire mobile online banking is down",
		fmt.Sprintf("Thank you for your message (%d). It has been received.", i))
}

// TestLoopWithABotStopsOnTheTicket: an agent's mailbox answers each of our
// notices at once without any automatic-mail header (a forwarding rule
// that bounces back, a script). Its mail is not proven to be the agent's,
// so each one used to get an "unauthenticated" answer, which it answered
// again: the per-recipient cap of 10 an hour only slowed the loop. The
// loop now stops within five exchanges: the address is muted on the ticket
// (it gets no more answers there; as an agent's address it still gets the
// alerts), the agents are told in an internal note, and later mail from it
// is kept but changes nothing.
func TestLoopWithABotStopsOnTheTicket(t *testing.T) {
	r := newAnsweringRig(t)
	number, _ := r.open()
	tk := r.Ticket(number)
	const ken = "ken.jay@bank.example"
	toKen := func() int {
		return r.Count(`SELECT count(*) FROM outbound_mails WHERE ticket_id = $1 AND recipient = $2`, tk.ID, ken)
	}
	if toKen() == 0 {
		t.Fatal("Ken was not alerted of the new ticket")
	}
	answers := func() int {
		return r.Count(`SELECT count(*) FROM outbound_mails WHERE ticket_id = $1 AND recipient = $2
			AND template = 'agent_unauthenticated'`, tk.ID, ken)
	}
	var mails []string
	sent := 0
	for i := range 12 {
		raw := botMail("Ken Jay <"+ken+">", number, i)
		mails = append(mails, raw)
		r.MustSend(ken, []string{"outage@bank.example"}, raw)
		if i == 7 {
			sent = toKen()
		}
	}
	// One answer per bot mail until the fifth quick answer in a row mutes
	// the address: the loop stops within five exchanges.
	if n := answers(); n >= ticket.LoopExchanges {
		t.Errorf("%d answers went to %s in the loop; it must stop within %d exchanges", n, ken, ticket.LoopExchanges)
	}
	if n := toKen(); n != sent {
		t.Errorf("the bot's mails after the mute still caused %d notices to %s", n-sent, ken)
	}
	var muted []ticket.Event
	for _, e := range r.events(number) {
		if e.Action == ticket.ActionMuted {
			muted = append(muted, e)
		}
	}
	if len(muted) != 1 || muted[0].New != ken || !strings.Contains(muted[0].Detail, "within 1m0s each") {
		t.Fatalf("muted events %+v, want one for %s", muted, ken)
	}
	if n := r.Count(`SELECT count(*) FROM messages WHERE ticket_id = $1 AND kind = 'note' AND body LIKE 'Mail loop stopped: '||$2||'%'`, tk.ID, ken); n != 1 {
		t.Errorf("%d notes tell the agents of the loop, want 1", n)
	}
	// The agents' mail about the muting transaction carries the note (one
	// mail per agent and transaction, about its most important change).
	r.answers(ken) // renders every queued notice
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE ticket_id = $1 AND recipient <> $2
		AND template LIKE 'agent_%' AND convert_from(rendered, 'UTF8') LIKE '%Mail loop stopped: '||$2||'%'`, tk.ID, ken); n == 0 {
		t.Errorf("no agent was told of the muted address")
	}
	// The bot's later mail is kept, on the ticket, as ignored.
	last := r.Inbound(intaketest.MessageID(mails[len(mails)-1]))
	if last.Outcome != "ignored" || last.Number != number || !strings.Contains(last.Reason, "muted on ticket "+number) {
		t.Errorf("mail after the mute: %s on %q (%s)", last.Outcome, last.Number, last.Reason)
	}
	// The customer still hears of the agents' replies.
	if r.Ticket(number).IsMuted("jane@user.com") {
		t.Error("the customer was muted too")
	}
}

// TestQuickPeopleAreNotMuted: a run of quick answers ends with the first
// slow one, so a person who writes back within a minute now and then, but
// not five times in a row, is never taken for a loop.
func TestQuickPeopleAreNotMuted(t *testing.T) {
	r := newAnsweringRig(t)
	number, _ := r.open()
	tk := r.Ticket(number)
	const ken = "ken.jay@bank.example"
	for i := range 2 * (ticket.LoopExchanges - 1) {
		if i == ticket.LoopExchanges-1 {
			// This one comes two minutes after the notice it answers.
			if _, err := r.Org.Store.Pool().Exec(t.Context(), `UPDATE outbound_mails SET created_at = created_at - interval '2 minutes'
				WHERE ticket_id = $1 AND recipient = $2`, tk.ID, ken); err != nil {
				t.Fatal(err)
			}
		}
		r.MustSend(ken, []string{"outage@bank.example"}, botMail("Ken Jay <"+ken+">", number, i))
	}
	if r.Ticket(number).IsMuted(ken) {
		t.Errorf("%s muted after %d quick answers, a slow one, and %d quick ones", ken, ticket.LoopExchanges-1, ticket.LoopExchanges-1)
	}
}

// TestManyMailsAfterOneNoticeAreOneExchange: a customer who sends five
// mails within a minute of one notice (one per file, say) answered one
// notice, not five: they are not muted.
func TestManyMailsAfterOneNoticeAreOneExchange(t *testing.T) {
	r := newAnsweringRig(t)
	number, _ := r.open() // Jane's acknowledgement is the notice
	for i := range 2 * ticket.LoopExchanges {
		raw := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example",
			"Re: [#"+number+"] entire mobile online banking is down", fmt.Sprintf("screenshot %d attached", i))
		r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
		if in := r.Inbound(intaketest.MessageID(raw)); in.Outcome != "follow_up" {
			t.Fatalf("mail %d: %s (%s)", i, in.Outcome, in.Reason)
		}
	}
	if r.Ticket(number).IsMuted("jane@user.com") {
		t.Error("Jane was muted for writing several mails after one notice")
	}
}

// TestForgeriesDoNotMuteTheAgent: five forged mails in Ken's name within
// a minute make his address look like a loop on the ticket; that mutes the
// answers to the forgeries, not Ken: his proven mail still acts, and he
// still hears of the ticket.
func TestForgeriesDoNotMuteTheAgent(t *testing.T) {
	var zone keys
	bank := zone.add(t, "s1._domainkey.bank.example")
	store, _ := notifyingStore(t)
	r := newRig(t, store, func(o *intake.Options, _ *listener.Config) { o.AgentMail.LookupTXT = zone.lookup })
	number, _ := r.open()
	const ken = "ken.jay@bank.example"
	for i := range 2 * ticket.LoopExchanges {
		r.MustSend("mallory@evil.example", []string{"outage@bank.example"}, botMail("Ken Jay <"+ken+">", number, i))
	}
	if !r.Ticket(number).IsMuted(ken) {
		t.Fatal("the forgeries did not make a loop (the test needs one)")
	}
	proven := sign(t, intaketest.Mail("Ken Jay <"+ken+">", "outage@bank.example",
		"Re: [#"+number+"] entire mobile online banking is down", "#close\nall fixed"), "bank.example", bank)
	r.MustSend(ken, []string{"outage@bank.example"}, proven)
	if in := r.Inbound(intaketest.MessageID(proven)); in.Outcome != "follow_up" || r.Ticket(number).Status != ticket.StatusClosed {
		t.Fatalf("Ken's signed #close after the mute: %s (%s), status %s", in.Outcome, in.Reason, r.Ticket(number).Status)
	}
}
