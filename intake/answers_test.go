package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// newAnsweringRig is a rig whose store queues real notices, among them
// the answers to refused agent mail.
func newAnsweringRig(t *testing.T) *rig {
	t.Helper()
	store, _ := notifyingStore(t)
	return newRig(t, store, nil)
}

// notifyingStore is a store over a fresh database whose changes queue
// real notices, and its notifier.
func notifyingStore(t *testing.T) (*ticket.Store, *mailer.Notifier) {
	t.Helper()
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	n, err := mailer.NewNotifier(mailer.Options{OrgName: "Bank Example Support", MessageIDDomain: "bank.example",
		ReplySecret: intaketest.ReplySecret, Templates: set,
		Mailboxes: map[string]string{"support@bank.example": "Bank Support", "outage@bank.example": "Bank Outage Desk"}},
		ticket.DefaultNumbering())
	if err != nil {
		t.Fatal(err)
	}
	return ticket.NewStore(dbtest.Pool(t), ticket.DefaultNumbering(), n), n
}

// answers lists the answers queued to an agent: template and body text.
func (r *rig) answers(to string) []string {
	r.T.Helper()
	// Notices are queued as drafts: render them as the worker will send
	// them (it never dials the relay for that).
	set, err := templates.Default()
	if err != nil {
		r.T.Fatal(err)
	}
	w, err := mailer.NewWorker(r.Org.Store, mailer.Options{Templates: set, Relay: mailer.Relay{Host: "127.0.0.1"}})
	if err != nil {
		r.T.Fatal(err)
	}
	if _, err := w.RenderQueued(context.Background()); err != nil {
		r.T.Fatal(err)
	}
	rows, err := r.Org.Store.Pool().Query(context.Background(), `SELECT template, convert_from(rendered, 'UTF8')
		FROM outbound_mails WHERE recipient = $1 AND template IN ('agent_command_error', 'agent_unauthenticated') ORDER BY id`, to)
	if err != nil {
		r.T.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tpl, raw string
		if err := rows.Scan(&tpl, &raw); err != nil {
			r.T.Fatal(err)
		}
		out = append(out, tpl+"\n"+raw)
	}
	return out
}

// An agent whose command fails gets an answer naming what was wrong, and
// the real agent hears of a mail in their name that proved nothing.
func TestAgentsAreAnswered(t *testing.T) {
	r := newAnsweringRig(t)
	number, _ := r.open()
	for i, c := range []struct{ body, want string }{
		{"#transfer Nowhere\nplease look", "#transfer Nowhere: there is no department of that name"},
		{"#frobnicate\nhello", "unknown command #frobnicate"},
		{"#assign nobody", "#assign nobody: there is no agent"},
	} {
		if in := r.agentReply(r.Org.Ken, number, c.body); in.Outcome != "rejected" {
			t.Fatalf("%q: %s", c.body, in.Outcome)
		}
		got := r.answers("ken.jay@bank.example")
		if len(got) != i+1 || !strings.HasPrefix(got[i], "agent_command_error\n") || !strings.Contains(got[i], c.want) ||
			!strings.Contains(got[i], "[#"+number+"]") {
			t.Fatalf("%q: answers %d, last:\n%s", c.body, len(got), got[len(got)-1])
		}
	}
	raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example", "Re: [#"+number+"] down", "#resolve")
	r.MustSend("attacker@evil.example", []string{"outage@bank.example"}, raw)
	got := r.answers("ken.jay@bank.example")
	if last := got[len(got)-1]; !strings.HasPrefix(last, "agent_unauthenticated\n") || !strings.Contains(last, "could not be authenticated") {
		t.Fatalf("unauthenticated mail: last answer\n%s", last)
	}
	if r.Ticket(number).Status != ticket.StatusOpen {
		t.Fatal("the unauthenticated #resolve ran")
	}
}
