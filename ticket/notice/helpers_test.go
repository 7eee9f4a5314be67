package notice_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/notice"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

const jane = "jane@user.com"

// ourMailboxes are the scenario's mailboxes: never mailed.
var ourMailboxes = []string{"support@bank.example", "outage@bank.example"}

// recorder is a ticket.Notifier that keeps what the planner planned, a
// list per transaction, and queues nothing.
type recorder struct {
	planner *notice.Planner
	mu      sync.Mutex
	planned [][]notice.Notice
}

func (r *recorder) Notify(ctx context.Context, tx *ticket.Tx, changes []ticket.Change) error {
	ns, err := r.planner.Plan(ctx, tx, changes)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.planned = append(r.planned, ns)
	return nil
}

type fixture struct {
	t   *testing.T
	ctx context.Context
	org *tickettest.Org
	rec *recorder
}

// newFixture is the scenario's organisation with a planner configured by
// departments (nil: every department gets the default switches).
func newFixture(t *testing.T, departments map[string]notice.Switches) *fixture {
	t.Helper()
	rec := &recorder{planner: notice.NewPlanner(departments, ourMailboxes)}
	return &fixture{t: t, ctx: context.Background(), org: tickettest.New(t, rec), rec: rec}
}

// open makes Jane's outage ticket, as it arrives by mail at support@, and
// returns it with the notices its opening planned.
func (f *fixture) open(msgID string) (*ticket.Ticket, []notice.Notice) {
	f.t.Helper()
	var tk *ticket.Ticket
	got := f.inTx(func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(f.ctx, ticket.NewTicket{
			Subject:      "entire mobile online banking is down",
			Customer:     ticket.Contact{Email: jane, Name: "Jane Doe"},
			DepartmentID: f.org.Help.ID,
			Priority:     ticket.PriorityEmergency,
			MailboxID:    f.org.Support.ID,
			Message: ticket.Message{
				Body:      "customers are reporting a 404 error when browsing to online banking",
				MessageID: msgID,
			},
		})
		return err
	})
	return tk, got
}

// inTx runs fn in one transaction and returns the notices it planned.
func (f *fixture) inTx(fn func(tx *ticket.Tx) error) []notice.Notice {
	f.t.Helper()
	before := len(f.rec.planned)
	if err := f.org.Store.InTx(f.ctx, fn); err != nil {
		f.t.Fatal(err)
	}
	var out []notice.Notice
	for _, ns := range f.rec.planned[before:] {
		out = append(out, ns...)
	}
	return out
}

// step runs fn on the locked ticket in one transaction and returns the
// notices it planned.
func (f *fixture) step(number string, fn func(tx *ticket.Tx, tk *ticket.Ticket) error) []notice.Notice {
	f.t.Helper()
	return f.inTx(func(tx *ticket.Tx) error {
		tk, err := tx.LockNumber(f.ctx, number)
		if err != nil {
			return err
		}
		return fn(tx, tk)
	})
}

// wantTold checks who is told, as "address template" pairs in any order.
func wantTold(t *testing.T, got []notice.Notice, want ...string) {
	t.Helper()
	var g []string
	for _, n := range got {
		g = append(g, strings.ToLower(n.To.Email)+" "+n.Template)
	}
	slices.Sort(g)
	slices.Sort(want)
	if !slices.Equal(g, want) {
		t.Fatalf("told %v, want %v", g, want)
	}
}

// to returns the one notice to addr.
func to(t *testing.T, got []notice.Notice, addr string) notice.Notice {
	t.Helper()
	var out []notice.Notice
	for _, n := range got {
		if strings.EqualFold(n.To.Email, addr) {
			out = append(out, n)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d notices to %s, want 1: %v", len(out), addr, describe(got))
	}
	return out[0]
}

func describe(ns []notice.Notice) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprintf("%s %s", n.To.Email, n.Template)
	}
	return out
}
