package ticket_test

import (
	"context"
	"testing"

	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

var testOrg = tickettest.ScenarioOrg()

type fixture struct {
	store *ticket.Store
	ken   ticket.Agent
	mary  ticket.Agent
	help  ticket.Department
	sys   ticket.Department
}

func newFixture(t testing.TB, n ticket.Notifier) *fixture {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	s := ticket.NewStore(pool, ticket.DefaultNumbering(), n)
	if err := s.SyncOrg(ctx, testOrg); err != nil {
		t.Fatalf("sync org: %v", err)
	}
	f := &fixture{store: s}
	var err error
	if f.ken, err = ticket.FindAgent(ctx, pool, "ken"); err != nil {
		t.Fatal(err)
	}
	if f.mary, err = ticket.FindAgent(ctx, pool, "mary@bank.example"); err != nil {
		t.Fatal(err)
	}
	if f.help, err = ticket.FindDepartment(ctx, pool, "help desk"); err != nil {
		t.Fatal(err)
	}
	if f.sys, err = ticket.FindDepartment(ctx, pool, "System Administrators"); err != nil {
		t.Fatal(err)
	}
	return f
}

// open makes Jane's outage ticket.
func (f *fixture) open(t *testing.T) *ticket.Ticket {
	t.Helper()
	var tk *ticket.Ticket
	err := f.store.InTx(context.Background(), func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(context.Background(), ticket.NewTicket{
			Subject:      "entire mobile online banking is down",
			Customer:     ticket.Contact{Email: "jane@user.com", Name: "Jane Doe"},
			DepartmentID: f.help.ID,
			Priority:     ticket.PriorityEmergency,
			Message: ticket.Message{
				Body:      "customers are reporting a 404 error when browsing to online banking",
				MessageID: "jane-1@user.com",
			},
		})
		return err
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return tk
}

// change runs fn on the locked ticket in one transaction.
func (f *fixture) change(t *testing.T, number string, fn func(tx *ticket.Tx, tk *ticket.Ticket) error) error {
	t.Helper()
	ctx := context.Background()
	return f.store.InTx(ctx, func(tx *ticket.Tx) error {
		tk, err := tx.LockNumber(ctx, number)
		if err != nil {
			return err
		}
		return fn(tx, tk)
	})
}

// events returns the ticket's history events, oldest first.
func (f *fixture) events(t *testing.T, tk *ticket.Ticket) []ticket.Event {
	t.Helper()
	h, err := f.store.History(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []ticket.Event
	for _, e := range h {
		if e.Event != nil {
			out = append(out, *e.Event)
		}
	}
	return out
}

func lastEvent(t *testing.T, evs []ticket.Event) ticket.Event {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	return evs[len(evs)-1]
}
