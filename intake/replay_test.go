package intake_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/ticket"
)

// replayRig is a rig whose store queues real notices; first configures the
// processor the mail arrives at.
func newReplayRig(t *testing.T, first func(*intake.Options)) (*rig, *mailer.Notifier) {
	t.Helper()
	store, n := notifyingStore(t)
	r := newRig(t, store, func(o *intake.Options, _ *listener.Config) {
		if first != nil {
			first(o)
		}
	})
	return r, n
}

// reconfigured is a processor over the rig's database with the rig's
// options changed by mod: the configuration as it is at replay time.
func (r *rig) reconfigured(n *mailer.Notifier, mod func(*intake.Options)) *intake.Processor {
	r.T.Helper()
	opts := intake.Options{MessageIDDomain: "bank.example", ReplySecret: intaketest.ReplySecret,
		OwnAddresses: []string{"helpdesk@bank.example", "sysadmins@bank.example"}, Logger: intaketest.QuietLogger()}
	if mod != nil {
		mod(&opts)
	}
	p, err := intake.NewProcessor(context.Background(), r.Org.Store, opts)
	if err != nil {
		r.T.Fatal(err)
	}
	return p
}

// storedRow is what a replay may change on a stored mail.
type storedRow struct {
	id              int64
	outcome, reason string
	number          string
	replays         int
	replayed        bool
}

func (r *rig) stored(messageID string) storedRow {
	r.T.Helper()
	var s storedRow
	var number *string
	var replayedAt *time.Time
	err := r.Org.Store.Pool().QueryRow(context.Background(), `
		SELECT i.id, i.outcome, i.reason, t.number, i.replays, i.replayed_at
		  FROM inbound_mails i LEFT JOIN tickets t ON t.id = i.ticket_id WHERE i.message_id = $1`, messageID).
		Scan(&s.id, &s.outcome, &s.reason, &number, &s.replays, &replayedAt)
	if err != nil {
		r.T.Fatalf("stored mail %s: %v", messageID, err)
	}
	if number != nil {
		s.number = *number
	}
	s.replayed = replayedAt != nil
	return s
}

// quarantined sends raw and checks that it was quarantined for want.
func (r *rig) quarantined(from, to, raw, want string) storedRow {
	r.T.Helper()
	r.MustSend(from, []string{to}, raw)
	s := r.stored(intaketest.MessageID(raw))
	if s.outcome != "quarantined" || !strings.Contains(s.reason, want) || s.number != "" {
		r.T.Fatalf("mail arrived as %s on %q (%s); want quarantined for %q", s.outcome, s.number, s.reason, want)
	}
	return s
}

func withBan(ban ...string) func(*intake.Options) {
	return func(o *intake.Options) { o.Ban = ban }
}

func TestReplayBannedMailOpensTicketOnce(t *testing.T) {
	ctx := context.Background()
	r, n := newReplayRig(t, withBan("jane@user.com"))
	raw := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "entire mobile online banking is down",
		"customers are reporting a 404 error when browsing to online banking")
	before := r.quarantined("jane@user.com", "outage@bank.example", raw, "sender jane@user.com is banned")

	// The ban is lifted; the replay opens the ticket the mail would have.
	p := r.reconfigured(n, nil)
	res, err := p.Replay(ctx, before.id)
	if err != nil {
		t.Fatal(err)
	}
	if res.InboundID != before.id || res.Outcome != intake.OutcomeNewTicket || res.TicketNumber == "" || res.Mailbox != "outage" {
		t.Fatalf("replay: %+v", res)
	}
	after := r.stored(intaketest.MessageID(raw))
	if after.id != before.id || after.outcome != "new_ticket" || after.number != res.TicketNumber ||
		after.reason != "" || after.replays != 1 || !after.replayed {
		t.Fatalf("stored mail after replay: %+v", after)
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 1 {
		t.Fatalf("%d stored mails after the replay, want the one", n)
	}
	tk := r.Ticket(res.TicketNumber)
	if tk.Priority != ticket.PriorityEmergency || tk.DepartmentName != "Help Desk" || tk.CustomerEmail != "jane@user.com" {
		t.Fatalf("ticket %+v", tk)
	}
	acks := r.Count(`SELECT count(*) FROM outbound_mails WHERE ticket_id = $1 AND template = 'customer_ack' AND recipient = 'jane@user.com'`, tk.ID)
	if acks != 1 {
		t.Fatalf("%d acknowledgements queued to Jane, want 1", acks)
	}
	h, err := r.Org.Store.History(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) == 0 || h[0].Event == nil || h[0].Event.Action != ticket.ActionOpened || h[0].Message == nil ||
		!strings.Contains(h[0].Message.Body, "404 error") || h[0].Message.InboundMailID != before.id {
		t.Fatalf("history does not open with Jane's replayed mail: %+v", h)
	}
	var noted bool
	for _, e := range h {
		if ev := e.Event; ev != nil && ev.Action == ticket.ActionMailReplayed {
			noted = ev.New == fmt.Sprintf("mail %d", before.id) && strings.Contains(ev.Detail, "sender jane@user.com is banned") &&
				strings.Contains(ev.Detail, "received ")
		}
	}
	if !noted {
		t.Errorf("the history does not say the mail was replayed from quarantine: %+v", h)
	}

	// A second replay is refused and changes nothing.
	outbound := r.Count(`SELECT count(*) FROM outbound_mails`)
	_, err = p.Replay(ctx, before.id)
	if !errors.Is(err, intake.ErrNotQuarantined) || !strings.Contains(err.Error(), "new_ticket") {
		t.Fatalf("second replay: %v", err)
	}
	if again := r.stored(intaketest.MessageID(raw)); again != after {
		t.Fatalf("second replay changed the stored mail: %+v, was %+v", again, after)
	}
	if r.Count(`SELECT count(*) FROM tickets`) != 1 || r.Count(`SELECT count(*) FROM outbound_mails`) != outbound {
		t.Fatal("second replay opened a ticket or queued notices")
	}

	// And the mail arriving once more is still a duplicate of the same row.
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 1 || r.Count(`SELECT count(*) FROM tickets`) != 1 {
		t.Fatalf("the mail sent again after its replay: %d stored mails", n)
	}

	if _, err := p.Replay(ctx, before.id+1000); !errors.Is(err, intake.ErrMailNotFound) {
		t.Fatalf("replay of an unknown id: %v", err)
	}
}

func TestReplayStillRefusedStaysQuarantined(t *testing.T) {
	ctx := context.Background()
	r, n := newReplayRig(t, withBan("@spam.example"))
	raw := intaketest.Mail("Invoices <billing@spam.example>", "support@bank.example", "invoice 4711 overdue", "pay now")
	s := r.quarantined("billing@spam.example", "support@bank.example", raw, "banned")

	// The ban is gone, but a filter now holds the mail back.
	p := r.reconfigured(n, func(o *intake.Options) {
		o.Filters = []intake.Filter{{Name: "invoice spam", Quarantine: "suspected invoice fraud",
			Match: func(_ string, _ []string, subject, _ string) bool { return strings.HasPrefix(subject, "invoice ") }}}
	})
	res, err := p.Replay(ctx, s.id)
	if err != nil {
		t.Fatal(err)
	}
	const reason = "filter invoice spam: suspected invoice fraud"
	if res.Outcome != intake.OutcomeQuarantined || res.Reason != reason || res.TicketNumber != "" {
		t.Fatalf("replay: %+v", res)
	}
	after := r.stored(intaketest.MessageID(raw))
	if after.id != s.id || after.outcome != "quarantined" || after.reason != reason || after.replays != 1 || !after.replayed {
		t.Fatalf("stored mail: %+v", after)
	}
	if r.Count(`SELECT count(*) FROM tickets`) != 0 || r.Count(`SELECT count(*) FROM outbound_mails`) != 0 {
		t.Fatal("a refused replay opened a ticket or queued a notice")
	}

	// A change that cannot be made keeps it in quarantine too, saying why.
	p = r.reconfigured(n, func(o *intake.Options) {
		o.Filters = []intake.Filter{{Name: "broken", HelpTopic: "No such topic",
			Match: func(string, []string, string, string) bool { return true }}}
	})
	res, err = p.Replay(ctx, s.id)
	if err != nil {
		t.Fatal(err)
	}
	after = r.stored(intaketest.MessageID(raw))
	if res.Outcome != intake.OutcomeQuarantined || !strings.HasPrefix(res.Reason, "could not be applied: ") ||
		after.reason != res.Reason || after.outcome != "quarantined" || after.replays != 2 {
		t.Fatalf("replay: %+v, stored %+v", res, after)
	}
	if r.Count(`SELECT count(*) FROM tickets`) != 0 {
		t.Fatal("the refused change opened a ticket")
	}
}

// Two admins replay the same mail at once: one ticket, and the other is
// told the mail is no longer quarantined.
func TestReplayConcurrentOpensOneTicket(t *testing.T) {
	ctx := context.Background()
	r, n := newReplayRig(t, withBan("jane@user.com"))
	const mails = 4
	ids := make([]int64, mails)
	for i := range ids {
		raw := intaketest.Mail("Jane Doe <jane@user.com>", "support@bank.example", "card blocked", "my card is blocked")
		ids[i] = r.quarantined("jane@user.com", "support@bank.example", raw, "banned").id
	}
	procs := []*intake.Processor{r.reconfigured(n, nil), r.reconfigured(n, nil)}
	for _, id := range ids {
		start := make(chan struct{})
		var wg sync.WaitGroup
		results := make([]intake.Result, len(procs))
		errs := make([]error, len(procs))
		for i, p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = p.Replay(ctx, id)
			}()
		}
		close(start)
		wg.Wait()
		opened, refused := 0, 0
		for i := range procs {
			switch {
			case errs[i] == nil && results[i].Outcome == intake.OutcomeNewTicket:
				opened++
			case errors.Is(errs[i], intake.ErrNotQuarantined):
				refused++
			default:
				t.Fatalf("mail %d, replay %d: %+v, %v", id, i, results[i], errs[i])
			}
		}
		if opened != 1 || refused != 1 {
			t.Fatalf("mail %d: %d replays opened a ticket, %d were refused; want one each", id, opened, refused)
		}
	}
	if got := r.Count(`SELECT count(*) FROM tickets`); got != mails {
		t.Fatalf("%d tickets for %d mails", got, mails)
	}
	if got := r.Count(`SELECT count(*) FROM outbound_mails WHERE template = 'customer_ack'`); got != mails {
		t.Fatalf("%d acknowledgements for %d mails", got, mails)
	}
	if got := r.Count(`SELECT count(*) FROM inbound_mails WHERE replays = 1 AND outcome = 'new_ticket'`); got != mails {
		t.Fatalf("%d mails recorded as replayed once, want %d", got, mails)
	}
}

// Jane's ticket is open when she is banned by mistake; her follow-up is
// quarantined, and the replay adds it to her ticket.
func TestReplayFollowUpJoinsItsTicket(t *testing.T) {
	ctx := context.Background()
	r, n := newReplayRig(t, nil)
	number, janeID := r.open()
	p := r.reconfigured(n, withBan("jane@user.com"))
	raw := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "Re: [#"+number+"] entire mobile online banking is down",
		"still down for us", "In-Reply-To: <"+janeID+">")
	res, err := p.Deliver(ctx, intake.Envelope{Transport: intake.TransportSMTP, MailFrom: "jane@user.com",
		Rcpt: []string{"outage@bank.example"}}, []byte(raw))
	if err != nil || res.Outcome != intake.OutcomeQuarantined {
		t.Fatalf("banned follow-up: %+v, %v", res, err)
	}
	messages := r.Count(`SELECT count(*) FROM messages`)

	res, err = r.Proc.Replay(ctx, res.InboundID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != intake.OutcomeFollowUp || res.TicketNumber != number || res.Rule != intake.RuleSubjectToken {
		t.Fatalf("replay: %+v", res)
	}
	r.followUp(raw, intake.RuleSubjectToken, number)
	if got := r.Count(`SELECT count(*) FROM messages`); got != messages+1 {
		t.Fatalf("%d messages after the replay, want %d", got, messages+1)
	}
	evs := r.events(number)
	if len(evs) < 2 {
		t.Fatalf("events %+v", evs)
	}
	msg, noted := evs[len(evs)-2], evs[len(evs)-1]
	if msg.Action != ticket.ActionCustomerMessage || !strings.Contains(msg.Actor.String(), "jane@user.com") {
		t.Fatalf("the follow-up's event %+v", msg)
	}
	if noted.Action != ticket.ActionMailReplayed || noted.New != fmt.Sprintf("mail %d", res.InboundID) {
		t.Fatalf("last event %+v, want the note that the mail was replayed", noted)
	}
	if r.Count(`SELECT count(*) FROM tickets`) != 1 {
		t.Fatal("the replayed follow-up opened a ticket")
	}
}

// Ken's mail proves nothing under the old settings and is quarantined on
// his ticket; once our MTA's Authentication-Results are trusted, its
// replay runs his commands.
func TestReplayAgentMailOnceAuthenticated(t *testing.T) {
	ctx := context.Background()
	r, n := newReplayRig(t, func(o *intake.Options) { o.AgentMail.Quarantine = true })
	number, _ := r.open()
	raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example", "Re: [#"+number+"] entire mobile online banking is down",
		"#priority high\nlooking into it", "Authentication-Results: mx.bank.example; dkim=pass header.d=bank.example")
	r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, raw)
	s := r.stored(intaketest.MessageID(raw))
	if s.outcome != "quarantined" || s.number != number || !strings.Contains(s.reason, "could not be authenticated") {
		t.Fatalf("Ken's mail: %+v", s)
	}
	if r.Ticket(number).Priority != ticket.PriorityEmergency {
		t.Fatal("the unauthenticated command ran")
	}

	p := r.reconfigured(n, func(o *intake.Options) {
		o.AgentMail = intake.AgentMailPolicy{AuthservID: "mx.bank.example", Quarantine: true,
			TrustedRelays: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}} // the test sends from there
	})
	res, err := p.Replay(ctx, s.id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != intake.OutcomeFollowUp || res.TicketNumber != number || !strings.Contains(res.Reason, "DKIM pass") {
		t.Fatalf("replay: %+v", res)
	}
	if got := r.Ticket(number).Priority; got != ticket.PriorityHigh {
		t.Fatalf("priority %s after the replay, want high", got)
	}
	if after := r.stored(intaketest.MessageID(raw)); after.outcome != "follow_up" || after.number != number || after.replays != 1 {
		t.Fatalf("stored mail: %+v", after)
	}
}
