package ticket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// Ken's mail "#cc #priority #assign #transfer, a note, #resolve", given in
// any order, makes its changes in one order, each event carrying Ken and,
// for the assignment and the transfer, the ids of whom and what they name.
func TestApplyMakesChangesInOrderWithTheirIDs(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	ctx := context.Background()
	tk := f.open(t)
	ken := ticket.AgentActor(f.ken)
	const note = "coordinating with sys admin team to address critical system outage"
	got, err := f.store.Apply(ctx, tk.Number, ken,
		ticket.Op{Kind: ticket.OpStatus, Value: "resolved"},
		ticket.Op{Kind: ticket.OpTransfer, Value: "system administrators", Message: &ticket.Message{Body: note}},
		ticket.Op{Kind: ticket.OpAssign, Value: "mary"},
		ticket.Op{Kind: ticket.OpPriority, Value: "High"},
		ticket.Op{Kind: ticket.OpCc, Value: "boss@user.com"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ticket.StatusResolved || got.DepartmentID != f.sys.ID || got.AssigneeID != f.mary.ID ||
		got.Priority != ticket.PriorityHigh {
		t.Fatalf("ticket after apply: %+v", got)
	}
	if rec.calls != 2 { // the opening and the apply
		t.Fatalf("notifier called %d times, want once for the apply", rec.calls-1)
	}
	want := []ticket.Action{ticket.ActionCollaborator, ticket.ActionPriority, ticket.ActionAssigned,
		ticket.ActionTransferred, ticket.ActionStatus}
	evs := f.events(t, tk)
	evs = evs[len(evs)-len(want):]
	for i, ev := range evs {
		if ev.Action != want[i] || ev.Actor.Kind != ticket.ActorAgent || ev.Actor.ID != f.ken.ID {
			t.Fatalf("event %d: %s by %+v, want %s by Ken", i, ev.Action, ev.Actor, want[i])
		}
	}
	if a := evs[2]; a.Old != "" || a.New != "Mary Major" || a.OldID != 0 || a.NewID != f.mary.ID {
		t.Fatalf("assignment event %+v", a)
	}
	if tr := evs[3]; tr.Old != "Help Desk" || tr.New != "System Administrators" || tr.OldID != f.help.ID ||
		tr.NewID != f.sys.ID || tr.Detail != note || tr.MessageID == 0 {
		t.Fatalf("transfer event %+v", tr)
	}
	var author int64
	if err := f.store.Pool().QueryRow(ctx, `SELECT author_agent_id FROM messages WHERE id = $1 AND kind = 'note'`,
		evs[3].MessageID).Scan(&author); err != nil || author != f.ken.ID {
		t.Fatalf("transfer note's author %d (err %v), want Ken %d", author, err, f.ken.ID)
	}
}

// One wrong change refuses the whole request: nothing is written, and the
// refusal names the change and says why, in the words the actor reads.
func TestApplyRefusesAllOrNothing(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	ctx := context.Background()
	tk := f.open(t)
	before := len(f.events(t, tk))
	calls := rec.calls
	ken := ticket.AgentActor(f.ken)
	for _, c := range []struct {
		bad  ticket.Op
		want string
	}{
		{ticket.Op{Kind: ticket.OpTransfer, Value: "Nowhere"}, "transfer Nowhere: there is no department of that name"},
		{ticket.Op{Kind: ticket.OpAssign, Value: "nobody"}, "assign nobody: there is no agent of that name, username or address"},
		{ticket.Op{Kind: ticket.OpStatus, Value: "pending"}, "status pending: unknown status (use open, resolved or closed)"},
		{ticket.Op{Kind: ticket.OpPriority, Value: "urgent"}, "priority urgent: unknown priority (use low, normal, high or emergency)"},
		{ticket.Op{Kind: ticket.OpCc, Value: "not an address"}, "cc not an address: not an email address"},
		{ticket.Op{Kind: ticket.OpNote, Message: &ticket.Message{Body: "  "}}, "note: it has no text"},
	} {
		_, err := f.store.Apply(ctx, tk.Number, ken,
			ticket.Op{Kind: ticket.OpCc, Value: "boss@user.com"},
			ticket.Op{Kind: ticket.OpPriority, Value: "low"},
			ticket.Op{Kind: ticket.OpReply, Message: &ticket.Message{Body: "on it"}},
			c.bad)
		var r *ticket.Refusal
		if !errors.As(err, &r) || !errors.Is(err, ticket.ErrRefused) || err.Error() != c.want {
			t.Errorf("%+v: err %v, want the refusal %q", c.bad, err, c.want)
		}
	}
	if n := len(f.events(t, tk)); n != before {
		t.Fatalf("refused requests wrote %d events", n-before)
	}
	if rec.calls != calls {
		t.Fatalf("refused requests reached the notifier %d times", rec.calls-calls)
	}
	got, _ := f.store.Get(ctx, tk.Number)
	if got.Priority != ticket.PriorityEmergency {
		t.Fatalf("refused request changed the priority to %s", got.Priority)
	}
}

// A customer writes messages; the agents' changes are not theirs to make.
func TestApplyCustomerMayOnlyWrite(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tk := f.open(t)
	jane := ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID, Email: "jane@user.com"}
	_, err := f.store.Apply(ctx, tk.Number, jane, ticket.Op{Kind: ticket.OpStatus, Value: "closed"})
	if !errors.Is(err, ticket.ErrRefused) {
		t.Fatalf("a customer closing: err %v, want a refusal", err)
	}
	got, err := f.store.Apply(ctx, tk.Number, jane, ticket.Op{Kind: ticket.OpMessage, Message: &ticket.Message{Body: "still down"}})
	if err != nil {
		t.Fatal(err)
	}
	ev := lastEvent(t, f.events(t, got))
	if ev.Action != ticket.ActionCustomerMessage || ev.Actor.ID != tk.CustomerID {
		t.Fatalf("customer message event %+v", ev)
	}
}
