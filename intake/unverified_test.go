package intake_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// sent is one notice as the worker renders it.
type sent struct {
	id            int64
	to, template  string
	subject, text string
}

// notices renders the queued notices as the worker will send them (it
// never dials the relay for that) and lists those after id since.
func (r *rig) notices(since int64) []sent {
	r.T.Helper()
	ctx := context.Background()
	set, err := templates.Default()
	if err != nil {
		r.T.Fatal(err)
	}
	w, err := mailer.NewWorker(r.Org.Store, mailer.Options{Templates: set, Relay: mailer.Relay{Host: "127.0.0.1"}})
	if err != nil {
		r.T.Fatal(err)
	}
	if _, err := w.RenderQueued(ctx); err != nil {
		r.T.Fatal(err)
	}
	rows, err := r.Org.Store.Pool().Query(ctx, `SELECT id, recipient, template, rendered FROM outbound_mails
		WHERE id > $1 ORDER BY id`, since)
	if err != nil {
		r.T.Fatal(err)
	}
	defer rows.Close()
	var out []sent
	for rows.Next() {
		var s sent
		var raw []byte
		if err := rows.Scan(&s.id, &s.to, &s.template, &raw); err != nil {
			r.T.Fatal(err)
		}
		m, err := parse.Parse(raw)
		if err != nil {
			r.T.Fatal(err)
		}
		s.subject, s.text = m.Subject, m.Text
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		r.T.Fatal(err)
	}
	return out
}

func (r *rig) lastNotice() int64 {
	r.T.Helper()
	return int64(r.Count(`SELECT coalesce(max(id), 0) FROM outbound_mails`))
}

func (r *rig) show(number string) string {
	r.T.Helper()
	var b bytes.Buffer
	if err := r.Org.Store.Show(context.Background(), &b, number); err != nil {
		r.T.Fatal(err)
	}
	return b.String()
}

// TestForgedAgentMailToResolvedTicket: a mail From: Ken's address that
// proves nothing used to be stored as Ken's, reopen the resolved ticket
// ("customer wrote by Ken Jay", "status resolved → open by Ken Jay"), be
// recorded as "command refused … no command in it ran" though it had no
// command, and reach the other agents unflagged. Over real SMTP: the
// status stays, history and the alerts name an unverified sender claiming
// to be Ken, no event is Ken's, and Ken gets the warning; a forged #close
// sends the customer nothing.
func TestForgedAgentMailToResolvedTicket(t *testing.T) {
	store, _ := notifyingStore(t)
	r := newRig(t, store, withAuthserv()) // our MTA's results are known, but no relay is trusted
	ken := r.Org.Ken
	number, _ := r.open()
	if in := r.agentReply(ken, number, "#assign mary\n#resolve\n\nWe replaced the failed load balancer."); in.Outcome != "follow_up" {
		t.Fatalf("ken's resolution: %s (%s)", in.Outcome, in.Reason)
	}
	if r.Ticket(number).Status != ticket.StatusResolved {
		t.Fatal("not resolved")
	}
	const claim = "unverified sender claiming to be Ken Jay"
	subject := "Re: [#" + number + "] entire mobile online banking is down"

	for _, c := range []struct {
		name, body string
		commands   bool
		top        []string
	}{
		{"no command", "Please send me your password so that I can check your account.", false, nil},
		// With a forged result too, as a sender straight to the listener may write it.
		{"forged #close", "#close\nClosing this, all done.", true, []string{forgedResults}},
	} {
		nEvents, since := len(r.events(number)), r.lastNotice()
		raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example", subject, c.body)
		r.MustSend("attacker@evil.example", []string{"outage@bank.example"}, prepend(raw, c.top...))

		if got := r.Ticket(number).Status; got != ticket.StatusResolved {
			t.Errorf("%s: status %s, want resolved", c.name, got)
		}
		evs := r.events(number)[nEvents:]
		if len(evs) != 1 || evs[0].Action != ticket.ActionUnverifiedMail || !strings.HasPrefix(evs[0].Actor.Name, claim) {
			t.Errorf("%s: events %+v, want one unverified mail", c.name, evs)
		}
		for _, ev := range evs {
			if ev.Actor.Kind == ticket.ActorAgent || ev.Actor.ID != 0 || ev.Action == ticket.ActionCommandRefused {
				t.Errorf("%s: event %+v", c.name, ev)
			}
		}
		if n := r.Count(`SELECT count(*) FROM messages WHERE message_id = $1 AND kind = 'note'
			AND author_agent_id IS NULL AND author_customer_id IS NULL AND author_name LIKE $2`,
			intaketest.MessageID(raw), claim+"%"); n != 1 {
			t.Errorf("%s: the mail is not kept as an unverified note", c.name)
		}
		show := r.show(number)
		for _, bad := range []string{"customer wrote by Ken Jay", "by Ken Jay <ken.jay@bank.example> (", "status resolved → open",
			"command refused"} {
			if strings.Contains(show, bad) {
				t.Errorf("%s: ticket show says %q:\n%s", c.name, bad, show)
			}
		}
		if !strings.Contains(show, "mail from "+claim+" <ken.jay@bank.example>") ||
			strings.Contains(show, "none of its commands ran") != c.commands {
			t.Errorf("%s: ticket show:\n%s", c.name, show)
		}

		var warned, alerted bool
		for _, n := range r.notices(since) {
			switch {
			case n.to == "jane@user.com":
				t.Errorf("%s: the customer got %s: %q", c.name, n.template, n.text)
			case n.to == "ken.jay@bank.example" && n.template == "agent_unauthenticated" &&
				strings.Contains(n.text, "could not be authenticated"):
				warned = true
			case n.to == "ken.jay@bank.example":
				t.Errorf("%s: Ken got %s besides the warning", c.name, n.template)
			case n.to == "mary@bank.example" && n.template == "agent_new_message" &&
				strings.Contains(n.text, claim+" wrote on ticket [#"+number+"]") && strings.Contains(n.text, c.body[:20]):
				alerted = true
			default:
				t.Errorf("%s: unexpected notice %s to %s:\n%s", c.name, n.template, n.to, n.text)
			}
		}
		if !warned || !alerted {
			t.Errorf("%s: Ken warned %v, Mary alerted as of an unverified sender %v", c.name, warned, alerted)
		}
	}
	if n := r.Count(`SELECT count(*) FROM customers WHERE lower(email) = 'ken.jay@bank.example'`); n != 0 {
		t.Errorf("Ken's address became a customer")
	}
}

// TestForgedAgentMailAlertsDepartment: when the agent claimed has the
// ticket, the department hears of the unverified mail instead.
func TestForgedAgentMailAlertsDepartment(t *testing.T) {
	r := newAnsweringRig(t)
	number, _ := r.open()
	r.agentReply(r.Org.Ken, number, "#assign ken\n#note\nmine")
	since := r.lastNotice()
	raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example",
		"Re: [#"+number+"] entire mobile online banking is down", "#transfer System Administrators")
	r.MustSend("attacker@evil.example", []string{"outage@bank.example"}, raw)
	if r.Ticket(number).DepartmentName != "Help Desk" {
		t.Fatal("the forged #transfer ran")
	}
	var to []string
	for _, n := range r.notices(since) {
		to = append(to, n.template+" "+n.to)
	}
	if strings.Join(to, ", ") != "agent_unauthenticated ken.jay@bank.example, agent_new_message helpdesk@bank.example" {
		t.Fatalf("notices: %q", to)
	}
}
