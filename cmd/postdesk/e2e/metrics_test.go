package e2e

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// mailboxOf names the example configuration's mailbox for an address,
// including its +tag variants.
func mailboxOf(addr string) string {
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	local, _, _ = strings.Cut(local, "+")
	return local
}

// TestMetricsAfterScriptedRun plays a known sequence of mail against one
// process and checks that every counter says exactly what happened.
func TestMetricsAfterScriptedRun(t *testing.T) {
	t.Parallel()
	relay := newRelay(t)
	p := newProc(t, "serve", writeConfig(t, config{}), dbtest.URL(t), relay)
	p.start()

	if code, body, err := httpGet(p.http, "/healthz"); err != nil || code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q %v", code, body, err)
	}
	code, body, err := httpGet(p.http, "/readyz")
	var ready struct {
		Ready     bool              `json:"ready"`
		Database  string            `json:"database"`
		Schema    string            `json:"schema"`
		Listeners int               `json:"listeners"`
		Mailboxes []json.RawMessage `json:"mailboxes"`
	}
	if err != nil || code != 200 || json.Unmarshal([]byte(body), &ready) != nil || !ready.Ready ||
		ready.Database != "ok" || ready.Schema != "ok" || ready.Listeners != 1 || len(ready.Mailboxes) != 0 {
		t.Fatalf("/readyz: %d %v\n%s", code, err, body)
	}

	want := map[string]float64{} // postdesk_mails_received_total
	received := func(to, outcome string) {
		want[series("postdesk_mails_received_total", "mailbox", mailboxOf(to), "transport", "smtp", "outcome", outcome)]++
	}
	send := func(from, to, raw string) {
		t.Helper()
		if err := sendMail(p.smtp, from, to, raw); err != nil {
			t.Fatalf("mail from %s to %s: %v", from, to, err)
		}
	}

	// Three new tickets, from three customers.
	type conv struct{ customer, to, subject, id, number string }
	convs := []*conv{
		{"ann@user.test", "support@bank.example", "Card blocked", "m1@user.test", ""},
		{"bob@user.test", "support@bank.example", "Statement missing", "m2@user.test", ""},
		{"cyd@user.test", "outage@bank.example", "Online banking down", "m3@user.test", ""},
	}
	first := map[string]string{}
	for _, c := range convs {
		raw := newMail(c.customer, c.to, c.subject, c.id, "Please help.")
		first[c.customer] = raw
		send(c.customer, c.to, raw)
		received(c.to, "new_ticket")
	}
	acks := map[string]relayed{}
	for _, c := range convs {
		acks[c.customer] = relay.waitTo(t, c.customer)
		m := tokenRE.FindStringSubmatch(acks[c.customer].subject)
		if m == nil {
			t.Fatalf("acknowledgement to %s without a ticket token: %q", c.customer, acks[c.customer].subject)
		}
		c.number = m[1]
	}

	// Two follow-ups by subject token, from the tickets' customers.
	for i, c := range []*conv{convs[0], convs[2]} {
		send(c.customer, c.to, newMail(c.customer, c.to, "Re: [#"+c.number+"] "+c.subject,
			"f"+string(rune('1'+i))+"@user.test", "Any news?"))
		received(c.to, "follow_up")
	}
	// An out-of-office answer to Bob's acknowledgement.
	bob := convs[1]
	send(bob.customer, bob.to, newMail(bob.customer, bob.to, "Automatic reply: [#"+bob.number+"] "+bob.subject,
		"oof1@user.test", "I am away until Monday.", "Auto-Submitted: auto-replied",
		"In-Reply-To: <"+acks[bob.customer].messageID+">"))
	received(bob.to, "ignored")
	// Cyd's acknowledgement bounces back to its envelope sender.
	cydAck := acks["cyd@user.test"]
	send("", cydAck.from, bounceOf(cydAck.from, cydAck.messageID, "cyd@user.test"))
	received(cydAck.from, "ignored")
	// Mail for an address that is no mailbox of ours is refused at RCPT.
	if err := sendMail(p.smtp, "eve@user.test", "nobody@bank.example",
		newMail("eve@user.test", "nobody@bank.example", "hello", "u1@user.test", "hi")); classify(err) != permFail {
		t.Fatalf("mail to an unknown recipient: %v, want a 5xx", err)
	}
	// Ann's MTA sends her first mail again.
	send("ann@user.test", "support@bank.example", first["ann@user.test"])

	// The queue settles: every notice sent, the bounced one failed.
	var m metrics
	eventually(t, 20*time.Second, "the outbound queue is empty", func() bool {
		m = scrape(t, p.http)
		return m["postdesk_queue_depth"] == 0 && m[series("postdesk_notices", "state", "pending")] == 0
	})
	time.Sleep(200 * time.Millisecond) // a notice sent just now is also recorded at the relay
	m = scrape(t, p.http)
	out := relay.received()
	ids := map[string]int{}
	for _, r := range out {
		ids[r.messageID]++
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("the relay received notice %s %d times", id, n)
		}
	}

	check := func(family string, want map[string]float64) {
		t.Helper()
		got := m.withPrefix(family)
		if !maps.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", family, got, want)
		}
	}
	check("postdesk_mails_received_total", want)
	check("postdesk_tickets_opened_total", map[string]float64{"postdesk_tickets_opened_total": 3})
	check("postdesk_followups_threaded_total", map[string]float64{
		series("postdesk_followups_threaded_total", "rule", "subject_token"): 2})
	check("postdesk_machine_mails_total", map[string]float64{
		series("postdesk_machine_mails_total", "class", "auto-reply"): 1,
		series("postdesk_machine_mails_total", "class", "bounce"):     1})
	check("postdesk_mails_duplicate_total", map[string]float64{
		series("postdesk_mails_duplicate_total", "transport", "smtp"): 1})
	// Nine sessions: three new, two follow-ups, the out-of-office, the
	// bounce, the unknown recipient and the duplicate.
	check("postdesk_smtp_sessions_total", map[string]float64{
		series("postdesk_smtp_sessions_total", "listener", "smtp"): 9})
	reply := func(command, code string) string {
		return series("postdesk_smtp_replies_total", "listener", "smtp", "command", command, "code", code)
	}
	check("postdesk_smtp_replies_total", map[string]float64{
		reply("MAIL", "250"): 9, reply("RCPT", "250"): 8, reply("RCPT", "550"): 1, reply("DATA", "250"): 8})
	check("postdesk_notices", map[string]float64{
		series("postdesk_notices", "state", "sent"):       float64(len(ids) - 1),
		series("postdesk_notices", "state", "failed"):     1,
		series("postdesk_notices", "state", "pending"):    0,
		series("postdesk_notices", "state", "suppressed"): 0})
	check("postdesk_queue_depth", map[string]float64{"postdesk_queue_depth": 0})
	check("postdesk_queue_oldest_age_seconds", map[string]float64{"postdesk_queue_oldest_age_seconds": 0})
	// 3 acknowledgements, 3 x 2 new-ticket alerts (Ken and the Help Desk
	// address), 2 x 2 follow-up alerts: what the example configuration asks for.
	if len(ids) < 3 {
		t.Errorf("the relay received %d notices", len(ids))
	}
	t.Logf("notices at the relay: %d; metrics agree", len(ids))

	p.signal(sigterm)
	if code, _ := p.wait(40 * time.Second); code != 0 {
		t.Errorf("serve exited with %d after SIGTERM", code)
	}
}

// TestReadyzShowsFailingMailbox: an IMAP mailbox whose password is wrong
// shows in /readyz and the metrics, and the process stays ready.
func TestReadyzShowsFailingMailbox(t *testing.T) {
	t.Parallel()
	relay := newRelay(t)
	imapSrv := newIMAP(t, "billing@bank.example", "right-pw")
	cfg := writeConfig(t, config{imap: &imapBox{addr: imapSrv.addr, username: imapSrv.user}})
	p := newProc(t, "serve", cfg, dbtest.URL(t), relay, imapPasswordEnv+"=wrong-pw")
	p.start()

	type box struct {
		Name      string `json:"name"`
		Active    bool   `json:"active"`
		State     string `json:"state"`
		LastError string `json:"last_error"`
	}
	var ready struct {
		Ready     bool  `json:"ready"`
		Mailboxes []box `json:"mailboxes"`
	}
	var body string
	eventually(t, 15*time.Second, "/readyz shows the mailbox's login error", func() bool {
		code, b, err := httpGet(p.http, "/readyz")
		body = b
		if err != nil || code != 200 {
			t.Fatalf("/readyz: %d %v\n%s", code, err, b)
		}
		if err := json.Unmarshal([]byte(b), &ready); err != nil {
			t.Fatalf("/readyz: %v\n%s", err, b)
		}
		return len(ready.Mailboxes) == 1 && ready.Mailboxes[0].LastError != ""
	})
	mb := ready.Mailboxes[0]
	if !ready.Ready || mb.Name != "billing" || !mb.Active || !strings.Contains(mb.LastError, "login") {
		t.Fatalf("/readyz:\n%s", body)
	}
	if strings.Contains(body, "wrong-pw") {
		t.Fatalf("/readyz shows the password:\n%s", body)
	}
	m := scrape(t, p.http)
	if m[series("postdesk_mailbox_imap_state", "mailbox", "billing", "state", "error")] != 1 {
		t.Errorf("postdesk_mailbox_imap_state: %v", m.withPrefix("postdesk_mailbox_imap_state"))
	}
	// The SMTP side works meanwhile.
	if err := sendMail(p.smtp, "ann@user.test", "support@bank.example",
		newMail("ann@user.test", "support@bank.example", "Card blocked", "r1@user.test", "help")); err != nil {
		t.Fatalf("SMTP while a mailbox fails: %v", err)
	}
	p.signal(sigterm)
	if code, _ := p.wait(40 * time.Second); code != 0 {
		t.Errorf("serve exited with %d after SIGTERM", code)
	}
}
