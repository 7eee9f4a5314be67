package intake_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/intake/intaketest"
)

// TestCcOfStrangersIsNotReflected: one mail copying 200 foreign addresses
// used to make 200 acknowledgements quoting its text, which makes the help
// desk a spam relay. Over a real SMTP session: the acknowledgement goes to
// the sender only, ten of the Cc become collaborators (the default cap),
// and the rest are listed in a note for the agents.
func TestCcOfStrangersIsNotReflected(t *testing.T) {
	r := newAnsweringRig(t)
	var cc []string
	for i := range 200 {
		cc = append(cc, fmt.Sprintf("victim%03d@stranger.example", i))
	}
	raw := intaketest.Mail("Jane Doe <jane@user.com>", "support@bank.example", "cheap pills",
		"visit our shop", "Cc: "+strings.Join(cc, ",\r\n "))
	r.MustSend("jane@user.com", []string{"support@bank.example"}, raw)
	number := r.Inbound(intaketest.MessageID(raw)).Number
	if number == "" {
		t.Fatal("no ticket opened")
	}
	tk := r.Ticket(number)

	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE template = 'customer_ack'`); n != 1 {
		t.Errorf("%d acknowledgements queued, want 1", n)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE template = 'customer_ack' AND recipient = 'jane@user.com'`); n != 1 {
		t.Errorf("the acknowledgement did not go to the sender")
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE recipient LIKE '%@stranger.example'`); n != 0 {
		t.Errorf("%d notices to the addresses copied", n)
	}
	if n := r.Count(`SELECT count(*) FROM collaborators WHERE ticket_id = $1`, tk.ID); n != 10 {
		t.Errorf("%d collaborators, want the cap of 10", n)
	}
	if n := r.Count(`SELECT count(*) FROM messages WHERE ticket_id = $1 AND kind = 'note'
		AND body LIKE 'Not added as collaborators%victim010@stranger.example%victim109@stranger.example, and 90 more'`, tk.ID); n != 1 {
		t.Errorf("no note lists the addresses over the cap")
	}
}

// TestAutoReplyCapHoldsUnderConcurrency: the per-recipient cap on
// automatic mail (10 an hour by default) holds when one sender's mails
// arrive over parallel sessions at once; 10,000 mails over 20 sessions
// used to get 13 or 21 acknowledgements, each transaction counting before
// the others had committed.
func TestAutoReplyCapHoldsUnderConcurrency(t *testing.T) {
	r := newAnsweringRig(t)
	const sessions, each = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, sessions*each)
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				raw := intaketest.Mail("Bot <bot@user.com>", "support@bank.example",
					fmt.Sprintf("order %d-%d failed", s, i), "please check my order")
				if err := r.Send("bot@user.com", []string{"support@bank.example"}, raw); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send: %v", err)
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != sessions*each {
		t.Fatalf("%d tickets, want %d", n, sessions*each)
	}
	if n := r.Count(`SELECT count(*) FROM outbound_mails WHERE template = 'customer_ack' AND recipient = 'bot@user.com'
		AND state <> 'suppressed'`); n != 10 {
		t.Errorf("%d acknowledgements to be sent, want the cap of 10", n)
	}
}

// TestFollowUpCopiesJoinTheTicket: a customer's reply that copies someone
// new (To or Cc) makes them a collaborator, as the opening mail would;
// only the opening mail counted before. The cap counts the collaborators
// the ticket has, and our own mailboxes and agents never join.
func TestFollowUpCopiesJoinTheTicket(t *testing.T) {
	r := newAnsweringRig(t)
	number, firstID := r.open()
	tk := r.Ticket(number)
	collaborators := func() []string {
		rows, err := r.Org.Store.Pool().Query(context.Background(), `SELECT c.email FROM collaborators x
			JOIN customers c ON c.id = x.customer_id WHERE x.ticket_id = $1 ORDER BY c.email`, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	reply := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example, Bob <bob@user.com>",
		"Re: entire mobile online banking is down", "adding my colleague Bob",
		"In-Reply-To: <"+firstID+">", "Cc: ken.jay@bank.example, support@bank.example")
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, reply)
	if in := r.Inbound(intaketest.MessageID(reply)); in.Outcome != "follow_up" || in.Number != number {
		t.Fatalf("reply: outcome %s on %q (%s)", in.Outcome, in.Number, in.Reason)
	}
	if got := collaborators(); !slices.Equal(got, []string{"bob@user.com"}) {
		t.Errorf("collaborators after the reply: %v, want Bob alone", got)
	}

	// Up to the cap of 10 in all: Bob and nine of the twelve copied next.
	var cc []string
	for i := range 12 {
		cc = append(cc, fmt.Sprintf("c%02d@user.com", i))
	}
	more := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example",
		"Re: entire mobile online banking is down", "and the whole team",
		"In-Reply-To: <"+firstID+">", "Cc: bob@user.com, "+strings.Join(cc, ", "))
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, more)
	if got := collaborators(); len(got) != 10 || !slices.Contains(got, "bob@user.com") || slices.Contains(got, "c09@user.com") {
		t.Errorf("collaborators: %v, want Bob and c00..c08", got)
	}
	if n := r.Count(`SELECT count(*) FROM messages WHERE ticket_id = $1 AND kind = 'note'
		AND body LIKE 'Not added as collaborators%: c09@user.com, c10@user.com, c11@user.com'`, tk.ID); n != 1 {
		t.Error("no note lists the three over the cap")
	}
}
