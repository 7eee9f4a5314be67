package mailer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

const (
	transferNote = "coordinating with sys admin team to address critical system outage"
	secretNote   = "the load balancer in rack 4 rebooted at 09:12; do not tell the customer yet"
	fixText      = "Hi Jane, we discovered a failed load balancer. The issue has been fixed and online systems should be working now"
)

// step runs one ticket change, delivers what it queued, and returns the
// mails the relay received for it, by recipient.
func (f *fixture) step(number string, fn func(tx *ticket.Tx, tk *ticket.Ticket) error) map[string][]parsed {
	f.t.Helper()
	before := len(f.sink.received())
	if fn != nil {
		f.mustChange(number, fn)
	}
	f.deliver()
	return byRecipient(f.t, f.sink.received()[before:])
}

func wantRecipients(t *testing.T, got map[string][]parsed, want ...string) {
	t.Helper()
	slices.Sort(want)
	if g := recipients(got); !slices.Equal(g, want) {
		t.Fatalf("mails went to %v, want %v", g, want)
	}
}

// checkReplyTo verifies the signed reply address: it routes to the ticket
// and proves the recipient with their own key.
func (f *fixture) checkReplyTo(t *testing.T, p parsed, number string, rr ticket.ReplyRecipient, secret []byte) {
	t.Helper()
	list, err := p.Header.AddressList("Reply-To")
	if err != nil || len(list) != 1 {
		t.Fatalf("Reply-To %q: %v", p.get("Reply-To"), err)
	}
	mbox, tok, ok := ticket.ParseReplyAddress(list[0].Address)
	if !ok || mbox != "support@bank.example" || tok.Number != number || tok.Recipient != rr {
		t.Fatalf("Reply-To %s: mailbox %q token %+v, want ticket %s recipient %+v", list[0].Address, mbox, tok, number, rr)
	}
	if !tok.Valid(ticket.ReplyKey(f.opts.ReplySecret, secret)) {
		t.Fatalf("Reply-To %s does not verify with the recipient's key", list[0].Address)
	}
	other := ticket.ReplyKey([]byte("some other master key, 32 bytes"), secret)
	if tok.Valid(other) {
		t.Fatal("Reply-To verifies with a foreign key")
	}
}

func checkCommon(t *testing.T, p parsed, number, autoSubmitted string) {
	t.Helper()
	from, err := p.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "support@bank.example" || from[0].Name != "Bank Support" {
		t.Errorf("From = %q (%v)", p.get("From"), err)
	}
	to, _ := p.Header.AddressList("To")
	if len(to) != 1 || !strings.EqualFold(to[0].Address, p.To) {
		t.Errorf("To %q is not the envelope recipient %q", p.get("To"), p.To)
	}
	if !strings.Contains(p.subject(), "[#"+number+"]") {
		t.Errorf("subject %q lacks the token", p.subject())
	}
	if got := p.get("Auto-Submitted"); got != autoSubmitted {
		t.Errorf("Auto-Submitted = %q, want %q", got, autoSubmitted)
	}
	if p.get("X-Auto-Response-Suppress") != "All" || p.get("X-Postdesk-Loop") != msgIDDomain || p.get("X-Postdesk-Ticket") != number {
		t.Errorf("loop headers: suppress %q loop %q ticket %q", p.get("X-Auto-Response-Suppress"), p.get("X-Postdesk-Loop"), p.get("X-Postdesk-Ticket"))
	}
	if !strings.HasSuffix(p.messageID(), "@"+msgIDDomain) {
		t.Errorf("Message-ID %q is not in our domain", p.messageID())
	}
	if _, err := p.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if !strings.HasPrefix(strings.ReplaceAll(p.Text, "\r\n", "\n"), ticket.ReplySeparator+"\n") || !strings.Contains(p.HTML, ticket.ReplySeparator) {
		t.Errorf("the reply separator does not open the notice:\n%s", p.Text)
	}
}

func checkThread(t *testing.T, p parsed, refs ...string) {
	t.Helper()
	if got := p.ids("References"); !slices.Equal(got, refs) {
		t.Errorf("References = %v, want %v", got, refs)
	}
	if got := p.ids("In-Reply-To"); len(got) != 1 || got[0] != refs[len(refs)-1] {
		t.Errorf("In-Reply-To = %v, want %s", got, refs[len(refs)-1])
	}
}

// TestScenario walks Jane's outage ticket through its life and checks every
// mail the relay receives: recipients, subject, headers, threading, body.
func TestScenario(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := f.ctx
	tk := f.open("jane-1@user.com")
	n := tk.Number
	ken, mary := ticket.AgentActor(f.ken), ticket.AgentActor(f.mary)
	kenRR := ticket.ReplyRecipient{Agent: true, ID: f.ken.ID}
	maryRR := ticket.ReplyRecipient{Agent: true, ID: f.mary.ID}
	janeRR := ticket.ReplyRecipient{ID: tk.CustomerID}
	sent := map[string][]string{} // our Message-IDs by recipient, oldest first
	keep := func(got map[string][]parsed) {
		for addr, ps := range got {
			for _, p := range ps {
				sent[addr] = append(sent[addr], p.messageID())
			}
		}
	}

	// 1. Jane's mail opens the ticket: she is acknowledged, Help Desk alerted.
	got := f.step(n, nil)
	wantRecipients(t, got, jane, "ken.jay@bank.example", "helpdesk@bank.example")
	ack := got[jane][0]
	checkCommon(t, ack, n, "auto-replied")
	checkThread(t, ack, "jane-1@user.com")
	f.checkReplyTo(t, ack, n, janeRR, nil)
	if ack.subject() != "Re: [#"+n+"] entire mobile online banking is down" {
		t.Errorf("ack subject %q", ack.subject())
	}
	if !strings.Contains(ack.Text, "[#"+n+"]") || !strings.Contains(ack.Text, "Dear Jane Doe") {
		t.Errorf("ack body:\n%s", ack.Text)
	}
	alert := got["ken.jay@bank.example"][0]
	checkCommon(t, alert, n, "auto-generated")
	checkThread(t, alert, "jane-1@user.com")
	f.checkReplyTo(t, alert, n, kenRR, f.ken.Secret)
	if !strings.Contains(alert.Text, "customers are reporting a 404 error") || !strings.Contains(alert.Text, "#transfer DEPARTMENT") {
		t.Errorf("new-ticket alert body:\n%s", alert.Text)
	}
	if dept := got["helpdesk@bank.example"][0]; dept.get("Reply-To") != "" {
		t.Errorf("the department address got a personal Reply-To %q", dept.get("Reply-To"))
	}
	keep(got)

	// 2. Ken transfers with a note: System Administrators hear of it with the
	// note; Jane hears nothing; Ken is not told of his own action.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.Transfer(ctx, tk, ken, f.sys.ID, &ticket.Message{Body: transferNote, Author: ken})
	})
	wantRecipients(t, got, "mary@bank.example", "sysadmins@bank.example")
	tr := got["mary@bank.example"][0]
	checkCommon(t, tr, n, "auto-generated")
	checkThread(t, tr, "jane-1@user.com")
	f.checkReplyTo(t, tr, n, maryRR, f.mary.Secret)
	if !strings.Contains(tr.Text, transferNote) || !strings.Contains(tr.Text, "Ken Jay transferred") ||
		!strings.Contains(tr.Text, "from Help Desk to System Administrators") {
		t.Errorf("transfer notice:\n%s", tr.Text)
	}
	keep(got)

	// 3. Jane writes again: nobody has the ticket, so its department hears.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindCustomer, Body: "still down, customers are angry",
			MessageID: "jane-2@user.com", InReplyTo: []string{sent[jane][0]},
			Author: ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID, Name: "Jane Doe", Email: jane}})
		return err
	})
	wantRecipients(t, got, "mary@bank.example", "sysadmins@bank.example")
	nm := got["mary@bank.example"][0]
	checkCommon(t, nm, n, "auto-generated")
	checkThread(t, nm, "jane-1@user.com", sent["mary@bank.example"][0])
	if !strings.Contains(nm.Text, "still down, customers are angry") || !strings.Contains(nm.Text, "Jane Doe wrote") {
		t.Errorf("new-message alert:\n%s", nm.Text)
	}
	keep(got)

	// 4. Ken assigns it to Mary: only Mary is told.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error { return tx.Assign(ctx, tk, ken, f.mary.ID) })
	wantRecipients(t, got, "mary@bank.example")
	as := got["mary@bank.example"][0]
	checkCommon(t, as, n, "auto-generated")
	checkThread(t, as, append([]string{"jane-1@user.com"}, sent["mary@bank.example"]...)...)
	if !strings.Contains(as.Text, "Ken Jay assigned ticket [#"+n+"] to you") {
		t.Errorf("assignment notice:\n%s", as.Text)
	}
	keep(got)

	// 5. Mary writes an internal note: her department's address is told,
	// she is not (her own action), Jane never is.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: secretNote, Author: mary})
		return err
	})
	wantRecipients(t, got, "sysadmins@bank.example")
	if note := got["sysadmins@bank.example"][0]; !strings.Contains(note.Text, secretNote) || !strings.Contains(note.Text, "internal note") {
		t.Errorf("note alert:\n%s", note.Text)
	}
	keep(got)

	// 6. Mary answers Jane: a human reply, threaded under Jane's last mail.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "We are on it.", Author: mary})
		return err
	})
	wantRecipients(t, got, jane)
	rp := got[jane][0]
	checkCommon(t, rp, n, "")
	checkThread(t, rp, "jane-1@user.com", sent[jane][0], "jane-2@user.com")
	f.checkReplyTo(t, rp, n, janeRR, nil)
	if !strings.Contains(rp.Text, "We are on it.") {
		t.Errorf("reply:\n%s", rp.Text)
	}
	keep(got)

	// 7. Mary resolves with a last reply: Jane gets ONE mail, the resolution
	// carrying the reply; Ken, who worked the ticket, hears that Mary
	// resolved it.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if _, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: fixText, Author: mary}); err != nil {
			return err
		}
		return tx.SetStatus(ctx, tk, mary, ticket.StatusResolved)
	})
	wantRecipients(t, got, jane, "ken.jay@bank.example")
	res := got[jane][0]
	checkCommon(t, res, n, "")
	checkThread(t, res, "jane-1@user.com", sent[jane][0], "jane-2@user.com", sent[jane][1])
	if !strings.Contains(res.Text, fixText) || !strings.Contains(res.Text, "has been resolved") {
		t.Errorf("resolution:\n%s", res.Text)
	}
	kr := got["ken.jay@bank.example"][0]
	checkCommon(t, kr, n, "auto-generated")
	if !strings.Contains(kr.Text, "Mary Major resolved ticket") || !strings.Contains(kr.Text, fixText) {
		t.Errorf("agent resolution notice:\n%s", kr.Text)
	}
	keep(got)

	// 8. Closing sends nothing by default.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error { return tx.SetStatus(ctx, tk, mary, ticket.StatusClosed) })
	wantRecipients(t, got)

	// Jane never saw an internal note or the transfer note.
	for _, m := range f.sink.received() {
		p := parse(t, m)
		if p.To == jane && (strings.Contains(string(m.Data), "rack 4") || strings.Contains(p.Text, transferNote) || strings.Contains(p.HTML, "rack 4")) {
			t.Errorf("an internal note reached the customer:\n%s", m.Data)
		}
	}
	// What went out is what was stored: one row per mail, same Message-ID,
	// same recipient, marked sent.
	rows := f.rows()
	byID := map[string]row{}
	for _, r := range rows {
		byID[r.MessageID] = r
	}
	if len(rows) != len(f.sink.received()) {
		t.Errorf("%d rows stored, %d mails received", len(rows), len(f.sink.received()))
	}
	for _, m := range f.sink.received() {
		p := parse(t, m)
		r, ok := byID[p.messageID()]
		if !ok || r.State != "sent" || !strings.EqualFold(r.Recipient, p.To) || r.Subject != p.subject() {
			t.Errorf("received %s to %s: stored row %+v", p.messageID(), p.To, r.State)
		}
		if m.From != "support@bank.example" {
			t.Errorf("envelope sender %q", m.From)
		}
	}
	show := f.show(tk)
	for _, want := range []string{"notice customer_ack to jane@user.com (sent)", "notice agent_transfer to mary@bank.example (sent)",
		"notice customer_resolved to jane@user.com (sent)", "notice agent_resolved to ken.jay@bank.example (sent)"} {
		if !strings.Contains(show, want) {
			t.Errorf("ticket show lacks %q:\n%s", want, show)
		}
	}
}

func (f *fixture) show(tk *ticket.Ticket) string {
	f.t.Helper()
	h, err := f.store.History(f.ctx, tk.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	if err := ticket.WriteShow(&b, tk, f.store.Numbering(), nil, h); err != nil {
		f.t.Fatal(err)
	}
	return b.String()
}
