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

// agentAddr is the Reply-To of an agent's notice for the ticket.
func (r *rig) agentAddr(a ticket.Agent, number string) string {
	return ticket.SignedReplyAddress("outage@bank.example", number, ticket.ReplyRecipient{Agent: true, ID: a.ID},
		ticket.ReplyKey(intaketest.ReplySecret, a.Secret))
}

// agentReply sends an agent's reply to their signed address and returns the
// stored outcome.
func (r *rig) agentReply(a ticket.Agent, number, body string, extra ...string) intaketest.Inbound {
	r.T.Helper()
	to := r.agentAddr(a, number)
	raw := intaketest.Mail(a.Name+" <"+a.Email+">", to, "Re: [#"+number+"] entire mobile online banking is down", body, extra...)
	r.MustSend(a.Email, []string{to}, raw)
	return r.Inbound(intaketest.MessageID(raw))
}

func lastEvents(evs []ticket.Event, n int) []ticket.Event {
	if len(evs) < n {
		return evs
	}
	return evs[len(evs)-n:]
}

func TestAgentTransferWithNoteThenResolve(t *testing.T) {
	r := newRig(t, nil, nil)
	number, _ := r.open()
	const note = "coordinating with sys admin team to address critical system outage"
	in := r.agentReply(r.Org.Ken, number, "#transfer System Administrators\n"+note+"\n\n> quoted alert text")
	if in.Outcome != "follow_up" || !strings.Contains(in.Reason, "signed reply address") {
		t.Fatalf("ken's mail: %s (%s)", in.Outcome, in.Reason)
	}
	tk := r.Ticket(number)
	if tk.DepartmentName != "System Administrators" {
		t.Fatalf("department %s", tk.DepartmentName)
	}
	h, _ := r.Org.Store.History(context.Background(), tk.ID)
	last := h[len(h)-1]
	if last.Event.Action != ticket.ActionTransferred || last.Event.Actor.ID != r.Org.Ken.ID ||
		last.Message == nil || last.Message.Kind != ticket.KindNote || last.Message.Body != note {
		t.Fatalf("transfer entry %+v message %+v", last.Event, last.Message)
	}

	const reply = "Hi Jane, we discovered a failed load balancer. The issue has been fixed and online systems should be working now"
	in = r.agentReply(r.Org.Mary, number, "#resolve\n\n"+reply)
	if in.Outcome != "follow_up" {
		t.Fatalf("mary's mail: %s (%s)", in.Outcome, in.Reason)
	}
	tk = r.Ticket(number)
	evs := lastEvents(r.events(number), 2)
	if tk.Status != ticket.StatusResolved || evs[0].Action != ticket.ActionReplied || evs[1].Action != ticket.ActionStatus ||
		evs[1].New != "resolved" || evs[0].Actor.ID != r.Org.Mary.ID {
		t.Fatalf("status %s, events %+v", tk.Status, evs)
	}
	h, _ = r.Org.Store.History(context.Background(), tk.ID)
	for _, e := range h {
		if e.Event != nil && e.Event.Action == ticket.ActionReplied && (e.Message.Kind != ticket.KindReply || e.Message.Body != reply) {
			t.Fatalf("reply stored as %+v", e.Message)
		}
	}
}

func TestAgentCommands(t *testing.T) {
	r := newRig(t, nil, nil)
	number, _ := r.open()
	in := r.agentReply(r.Org.Ken, number, "#assign mary\n#priority high\n#cc Bob@User.com\n#note\nchecking the logs")
	if in.Outcome != "follow_up" {
		t.Fatalf("%s (%s)", in.Outcome, in.Reason)
	}
	tk := r.Ticket(number)
	cc, _ := ticket.Collaborators(context.Background(), r.Org.Store.Pool(), tk.ID)
	if tk.AssigneeID != r.Org.Mary.ID || tk.Priority != ticket.PriorityHigh || len(cc) != 1 || cc[0].Email != "Bob@user.com" {
		t.Fatalf("ticket %+v cc %+v", tk, cc)
	}
	if last := lastEvents(r.events(number), 1)[0]; last.Action != ticket.ActionNoted {
		t.Fatalf("last event %+v, want the note", last)
	}
	for _, c := range []struct {
		cmd    string
		status ticket.Status
	}{{"#status closed", ticket.StatusClosed}, {"#REOPEN", ticket.StatusOpen}, {"#close", ticket.StatusClosed}, {"#status open", ticket.StatusOpen}} {
		if in := r.agentReply(r.Org.Ken, number, c.cmd); in.Outcome != "follow_up" {
			t.Fatalf("%s: %s (%s)", c.cmd, in.Outcome, in.Reason)
		}
		if got := r.Ticket(number).Status; got != c.status {
			t.Fatalf("%s: status %s", c.cmd, got)
		}
	}
	// A plain reply without commands is a public reply.
	r.agentReply(r.Org.Ken, number, "We are on it.")
	if last := lastEvents(r.events(number), 1)[0]; last.Action != ticket.ActionReplied {
		t.Fatalf("plain reply: %+v", last)
	}
}

// A wrong command changes nothing; the refusal is recorded for the error reply.
func TestAgentCommandErrorsChangeNothing(t *testing.T) {
	r := newRig(t, nil, nil)
	number, _ := r.open()
	before := r.Ticket(number)
	for _, c := range []struct{ body, want string }{
		{"#transfer Nowhere\nplease look", "#transfer Nowhere: there is no department"},
		{"#assign nobody\n#resolve\nfixed", "#assign nobody: there is no agent"},
		// Good commands with a wrong one: none of them runs.
		{"#cc bob@user.com\n#priority low\n#transfer Nowhere\nplease look", "#transfer Nowhere: there is no department"},
		{"#assign nobody\n#transfer Nowhere\nplease look", "#transfer Nowhere: there is no department"},
		{"#frobnicate\nhello", "unknown command #frobnicate"},
		{"#priority urgent\nhello", "#priority urgent: unknown priority"},
		{"#resolve\n#reopen\nhello", "conflicting status commands"},
		{"#cc not-an-address\nhello", "#cc not-an-address: not an email address"},
		{"#transfer\nhello", "#transfer needs a department name"},
		{"#customer jane@user.com\nhello", "#customer opens a new ticket"},
	} {
		nEvents := len(r.events(number))
		in := r.agentReply(r.Org.Ken, number, c.body)
		if in.Outcome != "rejected" || !strings.Contains(in.Reason, c.want) {
			t.Errorf("%q: %s (%s), want rejected with %q", c.body, in.Outcome, in.Reason, c.want)
			continue
		}
		evs := r.events(number)
		if len(evs) != nEvents+1 || evs[len(evs)-1].Action != ticket.ActionCommandRefused ||
			!strings.Contains(evs[len(evs)-1].Detail, c.want) || evs[len(evs)-1].Actor.ID != r.Org.Ken.ID {
			t.Errorf("%q: events after %+v", c.body, lastEvents(evs, 2))
		}
	}
	after := r.Ticket(number)
	if after.Status != before.Status || after.DepartmentID != before.DepartmentID || after.AssigneeID != before.AssigneeID ||
		after.Priority != before.Priority || r.Count(`SELECT count(*) FROM messages`) != 1 ||
		r.Count(`SELECT count(*) FROM collaborators`) != 0 {
		t.Fatalf("ticket changed by refused mails: %+v", after)
	}
}

// A forged From line is not an agent.
func TestForgedAgentCannotTransfer(t *testing.T) {
	for _, quarantine := range []bool{false, true} {
		r := newRig(t, nil, func(o *intake.Options, _ *listener.Config) { o.AgentMail.Quarantine = quarantine })
		number, _ := r.open()
		raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example",
			"Re: [#"+number+"] entire mobile online banking is down", "#transfer System Administrators\n#resolve\nmoving it")
		r.MustSend("attacker@evil.example", []string{"outage@bank.example"}, raw)
		tk := r.Ticket(number)
		if tk.DepartmentName != "Help Desk" || tk.Status != ticket.StatusOpen {
			t.Fatalf("forged mail changed the ticket: %+v", tk)
		}
		in := r.Inbound(intaketest.MessageID(raw))
		evs := r.events(number)
		refused := false
		for _, ev := range evs {
			if ev.Action == ticket.ActionUnverifiedMail && strings.Contains(ev.Detail, "could not be authenticated") &&
				strings.Contains(ev.Detail, "none of its commands ran") && ev.Actor.Kind != ticket.ActorAgent {
				refused = true
			}
			if ev.Action == ticket.ActionTransferred || ev.Action == ticket.ActionReplied {
				t.Fatalf("forged mail acted as the agent: %+v", ev)
			}
		}
		if !refused {
			t.Fatalf("no event says why: %+v", evs)
		}
		want := "follow_up"
		if quarantine {
			want = "quarantined"
		}
		if in.Outcome != want {
			t.Fatalf("quarantine=%v: outcome %s (%s)", quarantine, in.Outcome, in.Reason)
		}
		// Ken's signed address for another ticket proves nothing for this one.
		other, _ := r.open()
		to := r.agentAddr(r.Org.Ken, other)
		raw = intaketest.Mail("Ken Jay <ken.jay@bank.example>", to, "Re: [#"+number+"] x", "#transfer System Administrators", "Cc: outage@bank.example")
		r.MustSend("ken.jay@bank.example", []string{to}, raw)
		if r.Ticket(number).DepartmentName != "Help Desk" {
			t.Fatal("a signed address for another ticket authenticated a command")
		}
	}
}

func TestTrustedAuthenticationResults(t *testing.T) {
	r := newRig(t, nil, withAuthserv("127.0.0.1/32"))
	number, _ := r.open()
	subject := "Re: [#" + number + "] entire mobile online banking is down"
	send := func(authres string) {
		raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example", subject, "#priority low\nlowering", "Authentication-Results: "+authres)
		r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, raw)
	}
	send("evil.example; dkim=pass header.d=bank.example")    // not our authserv-id
	send("mx.bank.example; dkim=pass header.d=evil.example") // not aligned
	send("mx.bank.example; dkim=fail header.d=bank.example") // not a pass
	if got := r.Ticket(number).Priority; got != ticket.PriorityEmergency {
		t.Fatalf("untrusted results changed priority to %s", got)
	}
	send("mx.bank.example; spf=pass smtp.mailfrom=ken.jay@bank.example; dkim=pass header.d=bank.example")
	if got := r.Ticket(number).Priority; got != ticket.PriorityLow {
		t.Fatalf("trusted DKIM pass: priority %s", got)
	}

	// An authenticated agent opens a ticket for a customer.
	raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "support@bank.example", "Card blocked", "#customer jane@user.com\nJane called: her card is blocked.",
		"Authentication-Results: mx.bank.example; dkim=pass header.d=bank.example")
	r.MustSend("ken.jay@bank.example", []string{"support@bank.example"}, raw)
	in := r.Inbound(intaketest.MessageID(raw))
	if in.Outcome != "new_ticket" {
		t.Fatalf("#customer: %s (%s)", in.Outcome, in.Reason)
	}
	tk := r.Ticket(in.Number)
	h, _ := r.Org.Store.History(context.Background(), tk.ID)
	if tk.CustomerEmail != "jane@user.com" || h[0].Event.Actor.ID != r.Org.Ken.ID ||
		h[0].Message.Body != "Jane called: her card is blocked." {
		t.Fatalf("ticket %+v opened by %+v with %q", tk, h[0].Event.Actor, h[0].Message.Body)
	}
	// Without proof, #customer opens nothing.
	raw = intaketest.Mail("Ken Jay <ken.jay@bank.example>", "support@bank.example", "Card blocked", "#customer jane@user.com\nforged")
	r.MustSend("ken.jay@bank.example", []string{"support@bank.example"}, raw)
	if in := r.Inbound(intaketest.MessageID(raw)); in.Outcome != "quarantined" {
		t.Fatalf("unauthenticated #customer: %s (%s)", in.Outcome, in.Reason)
	}
}
