package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

// groupRig is a processor with the real notifier over a fresh database,
// whose groups the tests form by hand, so that which mails share a
// transaction does not depend on timing.
type groupRig struct {
	t   *testing.T
	org *tickettest.Org
	p   *Processor
}

func newGroupRig(t *testing.T, opts Options) *groupRig {
	t.Helper()
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	n, err := mailer.NewNotifier(mailer.Options{OrgName: "Bank", MessageIDDomain: "bank.example",
		ReplySecret: []byte("group-test-secret-0123456789"), Templates: set,
		Mailboxes: map[string]string{"support@bank.example": "Bank Support"}}, ticket.DefaultNumbering())
	if err != nil {
		t.Fatal(err)
	}
	org := tickettest.New(t, n)
	opts.MessageIDDomain, opts.Logger = "bank.example", slog.New(slog.DiscardHandler)
	p, err := NewProcessor(context.Background(), org.Store, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.group == nil {
		t.Fatal("group commit is off by default")
	}
	return &groupRig{t: t, org: org, p: p}
}

var groupSeq atomic.Int64

// groupMail is a plain mail to support@; extra lines join the header.
func groupMail(from, subject, body string, extra ...string) (raw []byte, id string) {
	id = fmt.Sprintf("group-%d-%d@user.example", time.Now().UnixNano(), groupSeq.Add(1))
	h := append([]string{"From: " + from, "To: support@bank.example", "Subject: " + subject,
		"Date: Fri, 27 Nov 2026 09:00:00 +0000", "Message-ID: <" + id + ">"}, extra...)
	return []byte(strings.Join(h, "\r\n") + "\r\n\r\n" + body + "\r\n"), id
}

// deliverTogether puts the mails into one group, runs it and returns what
// each caller of Deliver would get.
func (r *groupRig) deliverTogether(raws ...[]byte) []Result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	batch := make([]arrival, len(raws))
	for i, raw := range raws {
		msg, perr := parse.Parse(raw)
		batch[i] = arrival{env: Envelope{Transport: TransportSMTP, MailFrom: "x@user.example",
			Rcpt: []string{"support@bank.example"}}, raw: raw, msg: msg, perr: perr}
	}
	out, errs := r.p.group.Together(ctx, batch)
	for i, err := range errs {
		if err != nil {
			r.t.Fatalf("mail %d: %v", i, err)
		}
	}
	return out
}

func (r *groupRig) count(query string, args ...any) int {
	r.t.Helper()
	return dbtest.Count(r.t, r.org.Store.Pool(), query, args...)
}

func TestGroupCommitStoresEachMailOnceInOneTransaction(t *testing.T) {
	r := newGroupRig(t, Options{})
	var raws [][]byte
	for i := range 6 {
		raw, _ := groupMail(fmt.Sprintf("Customer %d <c%d@user.example>", i, i), fmt.Sprintf("question %d", i), "hello")
		raws = append(raws, raw)
	}
	raws = append(raws, raws[0]) // the sender's retry, arriving with the rest
	res := r.deliverTogether(raws...)
	numbers := map[string]bool{}
	for i, got := range res[:6] {
		if got.Outcome != OutcomeNewTicket || got.TicketNumber == "" || got.Duplicate {
			t.Fatalf("mail %d: %+v", i, got)
		}
		numbers[got.TicketNumber] = true
	}
	if len(numbers) != 6 {
		t.Fatalf("6 mails opened %d distinct tickets", len(numbers))
	}
	if dup := res[6]; !dup.Duplicate || dup.TicketNumber != res[0].TicketNumber {
		t.Fatalf("the copy: %+v, want a duplicate of ticket %s", dup, res[0].TicketNumber)
	}
	if n := r.count(`SELECT count(*) FROM inbound_mails`); n != 6 {
		t.Fatalf("%d mails stored, want 6", n)
	}
	if n := r.count(`SELECT count(*) FROM outbound_mails WHERE template = $1 AND state = 'pending'`, templates.CustomerAck); n != 6 {
		t.Fatalf("%d acknowledgements queued, want 6", n)
	}
	// One transaction wrote them all: one commit made six mails durable.
	if n := r.count(`SELECT count(DISTINCT xmin::text) FROM inbound_mails`); n != 1 {
		t.Fatalf("the group's mails were written by %d transactions, want 1", n)
	}
}

// Two follow-ups to one ticket cannot share a transaction: a row lock
// orders them only between transactions. Sent together, they are each
// applied on their own, and the second sees what the first did.
func TestGroupCommitKeepsChangesToOneTicketInOrder(t *testing.T) {
	r := newGroupRig(t, Options{})
	first, firstID := groupMail("Jane <jane@user.example>", "card declined", "my card was declined")
	res := r.deliverTogether(first)
	number := res[0].TicketNumber
	ctx := context.Background()
	err := r.org.Store.InTx(ctx, func(tx *ticket.Tx) error {
		tk, err := tx.LockNumber(ctx, number)
		if err != nil {
			return err
		}
		return tx.SetStatus(ctx, tk, ticket.AgentActor(r.org.Ken), ticket.StatusResolved)
	})
	if err != nil {
		t.Fatal(err)
	}
	again1, _ := groupMail("Jane <jane@user.example>", "Re: card declined", "it happened again", "In-Reply-To: <"+firstID+">")
	again2, _ := groupMail("Jane <jane@user.example>", "Re: card declined", "and again", "In-Reply-To: <"+firstID+">")
	other, _ := groupMail("Bob <bob@user.example>", "new card", "please send a new card")
	res = r.deliverTogether(again1, again2, other)
	for i, got := range res[:2] {
		if got.Outcome != OutcomeFollowUp || got.TicketNumber != number {
			t.Fatalf("follow-up %d: %+v", i, got)
		}
	}
	if res[2].Outcome != OutcomeNewTicket {
		t.Fatalf("Bob's mail: %+v", res[2])
	}
	tk, err := r.org.Store.Get(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != ticket.StatusOpen {
		t.Fatalf("ticket %s is %s after the customer wrote again", number, tk.Status)
	}
	reopened := r.count(`SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND action = $2 AND new_value = 'open'`,
		tk.ID, ticket.ActionStatus)
	messages := r.count(`SELECT count(*) FROM messages WHERE ticket_id = $1`, tk.ID)
	if reopened != 1 || messages != 3 {
		t.Fatalf("ticket %s: reopened %d times with %d messages; want once, with 3", number, reopened, messages)
	}
}

// A mail whose change cannot be made is kept in quarantine, and the mails
// that came with it are committed as usual.
func TestGroupCommitRefusedMailDoesNotFailTheOthers(t *testing.T) {
	r := newGroupRig(t, Options{Filters: []Filter{{Name: "broken", HelpTopic: "No such topic",
		Match: func(_ string, _ []string, subject, _ string) bool { return subject == "route me" }}}})
	ok1, _ := groupMail("a@user.example", "first", "x")
	bad, _ := groupMail("b@user.example", "route me", "x")
	ok2, _ := groupMail("c@user.example", "second", "x")
	res := r.deliverTogether(ok1, bad, ok2)
	if res[0].Outcome != OutcomeNewTicket || res[2].Outcome != OutcomeNewTicket {
		t.Fatalf("the good mails: %+v, %+v", res[0], res[2])
	}
	if res[1].Outcome != OutcomeQuarantined || !strings.Contains(res[1].Reason, "could not be applied") {
		t.Fatalf("the refused mail: %+v", res[1])
	}
	if n := r.count(`SELECT count(*) FROM inbound_mails`); n != 3 {
		t.Fatalf("%d mails stored, want 3", n)
	}
	if n := r.count(`SELECT count(*) FROM tickets`); n != 2 {
		t.Fatalf("%d tickets, want 2", n)
	}
}

// Two deliveries of one mail that both find it not yet stored: the one
// that stores it second (its row waits for the first's commit) rolls back
// everything it did and reports the first copy, in a transaction of its own
// and in a group, whose other mails are then delivered one by one.
func TestMailStoredMeanwhileRollsBackTheSecondDelivery(t *testing.T) {
	r := newGroupRig(t, Options{})
	ctx := context.Background()
	raw, _ := groupMail("Jane <jane@user.example>", "card declined", "my card was declined")
	other, _ := groupMail("Max <max@user.example>", "locked out", "I cannot log in")
	env := Envelope{Transport: TransportSMTP, MailFrom: "jane@user.example", Rcpt: []string{"support@bank.example"}}
	msg, perr := parse.Parse(raw)
	// Jane and Max write for the second time: their customer rows exist, so
	// the only row the two deliveries can wait on is the mail's own.
	for _, from := range []string{"Jane <jane@user.example>", "Max <max@user.example>"} {
		earlier, _ := groupMail(from, "earlier question", "hello")
		om, operr := parse.Parse(earlier)
		if _, err := r.p.deliverAlone(ctx, env, earlier, om, operr); err != nil {
			t.Fatal(err)
		}
	}
	for _, grouped := range []bool{false, true} {
		before := r.count(`SELECT count(*) FROM tickets`)
		type outcome struct {
			res []Result
			err error
		}
		second := make(chan outcome, 1)
		first := func(tx *ticket.Tx) error {
			d := &delivery{p: r.p, tx: tx, env: env, raw: raw, msg: msg}
			if _, err := d.run(ctx, perr); err != nil {
				return err
			}
			// The first delivery has written the mail but not committed:
			// the second finds nothing stored and goes ahead.
			go func() {
				if grouped {
					om, operr := parse.Parse(other)
					res, errs := r.p.group.Together(ctx, []arrival{{env: env, raw: raw, msg: msg, perr: perr},
						{env: env, raw: other, msg: om, perr: operr}})
					second <- outcome{res, errors.Join(errs...)}
					return
				}
				res, err := r.p.deliverAlone(ctx, env, raw, msg, perr)
				second <- outcome{[]Result{res}, err}
			}()
			// Commit once the second waits on the mail's row, whose key the
			// first holds uncommitted.
			deadline := time.Now().Add(10 * time.Second)
			for r.count(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
				AND datname = current_database() AND query LIKE '%INSERT INTO inbound_mails%'`) == 0 {
				if time.Now().After(deadline) {
					return errors.New("the second delivery never waited for the first")
				}
				time.Sleep(5 * time.Millisecond)
			}
			return nil
		}
		if err := r.org.Store.InTx(ctx, first); err != nil {
			t.Fatal(err)
		}
		o := <-second
		if o.err != nil {
			t.Fatalf("grouped %v: second delivery: %v", grouped, o.err)
		}
		if dup := o.res[0]; !dup.Duplicate || dup.Outcome != OutcomeNewTicket || dup.TicketNumber == "" {
			t.Fatalf("grouped %v: second delivery %+v, want a duplicate of the new ticket", grouped, dup)
		}
		want := 1
		if grouped {
			want = 2 // the other mail of the group still opens its ticket
			if o.res[1].Outcome != OutcomeNewTicket || o.res[1].Duplicate {
				t.Fatalf("the other mail of the group: %+v", o.res[1])
			}
		}
		if n := r.count(`SELECT count(*) FROM tickets`) - before; n != want {
			t.Fatalf("grouped %v: %d tickets, want %d", grouped, n, want)
		}
		if n := r.count(`SELECT count(*) FROM inbound_mails WHERE dedupe_key = $1`, msg.MessageID); n != 1 {
			t.Fatalf("grouped %v: the mail is stored %d times", grouped, n)
		}
		if n := r.count(`SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id
			WHERE m.message_id = $1`, msg.MessageID); n != 1 {
			t.Fatalf("grouped %v: %d ticket messages from one mail", grouped, n)
		}
		// Next round: a new mail.
		raw, _ = groupMail("Jane <jane@user.example>", "card declined again", "still declined")
		other, _ = groupMail("Max <max@user.example>", "locked out again", "still locked out")
		msg, perr = parse.Parse(raw)
	}
}
