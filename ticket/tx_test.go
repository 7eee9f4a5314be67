package ticket_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// recorder is a Notifier that writes a row per change in the caller's
// transaction, as the mailer's queue does, and can be told to fail.
type recorder struct {
	mu    sync.Mutex
	seen  []ticket.Change
	fail  error
	calls int
}

func (r *recorder) Notify(ctx context.Context, tx *ticket.Tx, changes []ticket.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	for _, c := range changes {
		err := tx.Enqueue(ctx, []ticket.Outgoing{{TicketID: c.Ticket.ID, EventID: c.Event.ID,
			MessageID: fmt.Sprintf("n%d@test", c.Event.ID), Template: "test", Recipient: "x@y.example",
			RecipientKind: "other", From: "a@b.example", Raw: []byte{}}})
		if err != nil {
			return err
		}
	}
	r.seen = append(r.seen, changes...)
	return nil
}

func TestNotifierRunsInTheSameTransaction(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	ctx := context.Background()
	tk := f.open(t)
	err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if err := tx.Transfer(ctx, tk, ticket.AgentActor(f.ken), f.sys.ID, &ticket.Message{Body: "over to you"}); err != nil {
			return err
		}
		return tx.SetPriority(ctx, tk, ticket.AgentActor(f.ken), ticket.PriorityHigh)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.calls != 2 {
		t.Fatalf("notifier called %d times for two transactions", rec.calls)
	}
	last := rec.seen[len(rec.seen)-2:]
	if last[0].Event.Action != ticket.ActionTransferred || last[1].Event.Action != ticket.ActionPriority {
		t.Fatalf("notifier saw %s, %s", last[0].Event.Action, last[1].Event.Action)
	}
	// Both changes see the ticket as it stands at the end of the transaction.
	if last[0].Ticket.DepartmentName != "System Administrators" || last[0].Ticket.Priority != ticket.PriorityHigh {
		t.Fatalf("notifier's ticket = %+v", last[0].Ticket)
	}
	if last[0].Message == nil || last[0].Message.Body != "over to you" {
		t.Fatalf("transfer change carries message %+v", last[0].Message)
	}

	// A notifier failure rolls the change back: no change, no notice.
	rec.fail = errors.New("queue unavailable")
	err = f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.SetStatus(ctx, tk, ticket.AgentActor(f.mary), ticket.StatusResolved)
	})
	if err == nil {
		t.Fatal("change committed although its notices could not be queued")
	}
	got, _ := f.store.Get(ctx, tk.Number)
	var notices int
	if err := f.store.Pool().QueryRow(ctx, `SELECT count(*) FROM outbound_mails`).Scan(&notices); err != nil {
		t.Fatal(err)
	}
	if got.Status != ticket.StatusOpen || notices != 3 {
		t.Fatalf("after failed notify: status %s, %d notices (want open, 3)", got.Status, notices)
	}
}

// Two agents acting on one ticket at once never lose an update: every
// event's old value is the previous event's new value, and the ticket ends
// as the last event says.
func TestConcurrentChangesAreSerialised(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tk := f.open(t)
	agents := []ticket.Agent{f.ken, f.mary}
	depts := []ticket.Department{f.help, f.sys}
	const workers, rounds = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
					cur, err := tx.LockNumber(ctx, tk.Number)
					if err != nil {
						return err
					}
					actor := ticket.AgentActor(agents[w%2])
					if w%2 == 0 {
						return tx.Assign(ctx, cur, actor, agents[(w+r)%2].ID)
					}
					return tx.Transfer(ctx, cur, actor, depts[(w+r)%2].ID, nil)
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	final, err := f.store.Get(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	last := map[ticket.Action]string{ticket.ActionAssigned: "", ticket.ActionTransferred: "Help Desk"}
	changes := 0
	for _, ev := range f.events(t, tk) {
		prev, tracked := last[ev.Action]
		if !tracked {
			continue
		}
		changes++
		if ev.Old != prev {
			t.Fatalf("lost update: event %d (%s) says %q → %q, but the value was %q", ev.ID, ev.Action, ev.Old, ev.New, prev)
		}
		last[ev.Action] = ev.New
	}
	if changes == 0 {
		t.Fatal("no changes recorded")
	}
	if final.AssigneeName != last[ticket.ActionAssigned] || final.DepartmentName != last[ticket.ActionTransferred] {
		t.Fatalf("ticket ends as %q / %q, history says %q / %q", final.AssigneeName, final.DepartmentName,
			last[ticket.ActionAssigned], last[ticket.ActionTransferred])
	}
}

func TestSyncOrgIsIdempotent(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	snapshot := func() string {
		var s string
		err := f.store.Pool().QueryRow(ctx, `SELECT
			(SELECT string_agg(concat_ws('|', id, name, email, active, settings, updated_at), ';' ORDER BY id) FROM departments) ||
			(SELECT string_agg(concat_ws('|', id, name, email, username, active, encode(secret, 'hex'), updated_at), ';' ORDER BY id) FROM agents) ||
			(SELECT string_agg(concat_ws('|', agent_id, department_id), ';' ORDER BY agent_id, department_id) FROM agent_departments) ||
			(SELECT string_agg(concat_ws('|', id, name, department_id, priority, active), ';' ORDER BY id) FROM help_topics) ||
			(SELECT string_agg(concat_ws('|', id, name, address, kind, settings, department_id, help_topic_id, priority, active), ';' ORDER BY id) FROM mailboxes)`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()
	if err := f.store.SyncOrg(ctx, testOrg); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(); after != before {
		t.Fatalf("second sync changed the organisation:\nbefore %s\nafter  %s", before, after)
	}

	// Mary moves to Help Desk too and Ken leaves: his row stays, inactive, with his secret.
	org := testOrg
	org.Agents = []ticket.AgentSpec{{Name: "Mary Major", Email: "mary@bank.example", Username: "mary", Active: true,
		Departments: []string{"System Administrators", "Help Desk"}}}
	if err := f.store.SyncOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	ken, err := ticket.FindAgent(ctx, f.store.Pool(), "ken")
	if err != nil {
		t.Fatal(err)
	}
	if ken.Active || string(ken.Secret) != string(f.ken.Secret) {
		t.Fatalf("ken after leaving: active %v, secret kept %v", ken.Active, string(ken.Secret) == string(f.ken.Secret))
	}
	helpers, err := ticket.DepartmentAgents(ctx, f.store.Pool(), f.help.ID)
	if err != nil || len(helpers) != 1 || helpers[0].Email != "mary@bank.example" {
		t.Fatalf("help desk agents %+v err %v", helpers, err)
	}
}
