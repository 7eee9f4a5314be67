package ticket_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

// queueOrg has three departments and agents in one, one and two of them.
var queueOrg = ticket.Org{
	Departments: []ticket.DepartmentSpec{{Name: "Help Desk"}, {Name: "System Administrators"}, {Name: "Billing"}},
	Agents: []ticket.AgentSpec{
		{Name: "Ken Jay", Email: "ken@bank.example", Username: "ken", Active: true, Departments: []string{"Help Desk"}},
		{Name: "Mary Major", Email: "mary@bank.example", Username: "mary", Active: true, Departments: []string{"System Administrators"}},
		{Name: "Lee Low", Email: "lee@bank.example", Username: "lee", Active: true, Departments: []string{"Help Desk", "Billing"}},
	},
}

type queueFixture struct {
	store   *ticket.Store
	pool    *pgxpool.Pool
	agents  []ticket.Agent
	depts   []ticket.Department
	viewers []ticket.Viewer // ken, mary, lee, an admin
}

func newQueueFixture(t testing.TB) *queueFixture {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	f := &queueFixture{store: ticket.NewStore(pool, ticket.DefaultNumbering(), nil), pool: pool}
	if err := f.store.SyncOrg(ctx, queueOrg); err != nil {
		t.Fatal(err)
	}
	for _, a := range queueOrg.Agents {
		ag, err := ticket.FindAgent(ctx, pool, a.Username)
		if err != nil {
			t.Fatal(err)
		}
		f.agents = append(f.agents, ag)
		v, err := ticket.ViewerOf(ctx, pool, ag.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		f.viewers = append(f.viewers, v)
	}
	for _, d := range queueOrg.Departments {
		dp, err := ticket.FindDepartment(ctx, pool, d.Name)
		if err != nil {
			t.Fatal(err)
		}
		f.depts = append(f.depts, dp)
	}
	f.viewers = append(f.viewers, ticket.Viewer{AgentID: f.agents[0].ID, Admin: true})
	return f
}

var priorities = []ticket.Priority{ticket.PriorityLow, ticket.PriorityNormal, ticket.PriorityHigh, ticket.PriorityEmergency}

func (f *queueFixture) open(t testing.TB, i int, dept ticket.Department, p ticket.Priority) *ticket.Ticket {
	t.Helper()
	var tk *ticket.Ticket
	err := f.store.InTx(context.Background(), func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(context.Background(), ticket.NewTicket{
			Subject:      fmt.Sprintf("ticket %d", i),
			Customer:     ticket.Contact{Email: fmt.Sprintf("c%d@user.example", i%7), Name: "C"},
			DepartmentID: dept.ID, Priority: p,
			Message: ticket.Message{Body: "help"},
		})
		return err
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return tk
}

// randomChange makes one random change to tk through the door.
func (f *queueFixture) randomChange(ctx context.Context, r *rand.Rand, number string) error {
	actor := ticket.System("test")
	var op ticket.Op
	switch r.IntN(5) {
	case 0:
		op = ticket.Op{Kind: ticket.OpAssign}
		if n := r.IntN(len(f.agents) + 1); n < len(f.agents) {
			op.Value = f.agents[n].Username
		}
	case 1:
		op = ticket.Op{Kind: ticket.OpTransfer, Value: f.depts[r.IntN(len(f.depts))].Name}
	case 2, 3:
		op = ticket.Op{Kind: ticket.OpStatus, Value: string([]ticket.Status{ticket.StatusOpen, ticket.StatusResolved, ticket.StatusClosed}[r.IntN(3)])}
	default:
		op = ticket.Op{Kind: ticket.OpPriority, Value: string(priorities[r.IntN(4)])}
	}
	_, err := f.store.Apply(ctx, number, actor, op)
	return err
}

// row is a ticket as the oracle sees it, read straight from tickets.
type row struct {
	id, dept, assignee int64
	status             ticket.Status
	rank               int
	created            time.Time
	resolved           *time.Time
}

func (f *queueFixture) all(t testing.TB) []row {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `
		SELECT id, department_id, coalesce(assignee_id, 0), status, priority, created_at, resolved_at FROM tickets`)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		var p ticket.Priority
		err := r.Scan(&x.id, &x.dept, &x.assignee, &x.status, &p, &x.created, &x.resolved)
		x.rank = ticket.PriorityRank(p)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// expect is what view should list for who, in order, worked out plainly.
func expect(all []row, who ticket.Viewer, v ticket.View, fl ticket.Filter, depts []int64) []int64 {
	since := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -(ticket.RecentDays - 1))
	var out []row
	for _, x := range all {
		ours := who.Admin || slices.Contains(who.Departments, x.dept)
		theirs := x.assignee == who.AgentID
		if !ours && !theirs {
			continue
		}
		var in bool
		switch v.Kind {
		case ticket.ViewUnassigned:
			in = ours && x.assignee == 0 && x.status == ticket.StatusOpen
		case ticket.ViewMine:
			in = theirs && x.status == ticket.StatusOpen
		case ticket.ViewDepartment:
			in = x.dept == v.DepartmentID && x.status == ticket.StatusOpen
		case ticket.ViewOpen:
			in = x.status == ticket.StatusOpen
		case ticket.ViewResolved:
			in = x.status == ticket.StatusResolved && x.resolved != nil && !x.resolved.Before(since)
		case ticket.ViewAll:
			in = true
		}
		if len(fl.Status) > 0 && !slices.Contains(fl.Status, x.status) {
			in = false
		}
		if len(fl.Priority) > 0 && !slices.ContainsFunc(fl.Priority, func(p ticket.Priority) bool { return ticket.PriorityRank(p) == x.rank }) {
			in = false
		}
		if fl.DepartmentID != 0 && x.dept != fl.DepartmentID {
			in = false
		}
		if (fl.AssigneeID != 0 && x.assignee != fl.AssigneeID) || (fl.Unassigned && x.assignee != 0) {
			in = false
		}
		if in {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b row) int {
		if v.Kind == ticket.ViewResolved {
			return cmp.Or(b.resolved.Compare(*a.resolved), cmp.Compare(b.id, a.id))
		}
		return cmp.Or(cmp.Compare(a.rank, b.rank), a.created.Compare(b.created), cmp.Compare(a.id, b.id))
	})
	ids := make([]int64, len(out))
	for i, x := range out {
		ids[i] = x.id
	}
	return ids
}

// pages reads every page of a view and checks each is at most limit long.
func pages(t testing.TB, q ticket.Querier, who ticket.Viewer, v ticket.View, fl ticket.Filter, limit int) []int64 {
	t.Helper()
	var ids []int64
	var c ticket.Cursor
	for n := 0; ; n++ {
		rows, next, err := ticket.Queue(context.Background(), q, who, v, fl, c, limit)
		if err != nil {
			t.Fatalf("queue %v: %v", v, err)
		}
		if len(rows) > limit || (len(rows) < limit && !next.IsZero()) {
			t.Fatalf("queue %v: page %d has %d rows, next %v", v, n, len(rows), next)
		}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		if next.IsZero() {
			return ids
		}
		// Through its text form, as a URL carries it.
		if c, err = ticket.ParseCursor(next.String()); err != nil {
			t.Fatal(err)
		}
		if n > 1000 {
			t.Fatal("queue never ends")
		}
	}
}

func (f *queueFixture) views(who ticket.Viewer) []ticket.View {
	vs := []ticket.View{{Kind: ticket.ViewUnassigned}, {Kind: ticket.ViewMine}, {Kind: ticket.ViewOpen},
		{Kind: ticket.ViewResolved}, {Kind: ticket.ViewAll}}
	for _, d := range f.depts {
		if who.Admin || slices.Contains(who.Departments, d.ID) {
			vs = append(vs, ticket.View{Kind: ticket.ViewDepartment, DepartmentID: d.ID})
		}
	}
	return vs
}

// Every view lists the right tickets in the right order for every viewer,
// page by page, each once, with and without filters.
func TestQueueViews(t *testing.T) {
	f := newQueueFixture(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	var numbers []string
	for i := range 60 {
		tk := f.open(t, i, f.depts[r.IntN(3)], priorities[r.IntN(4)])
		numbers = append(numbers, tk.Number)
	}
	for range 150 {
		if err := f.randomChange(ctx, r, numbers[r.IntN(len(numbers))]); err != nil {
			t.Fatal(err)
		}
	}
	all := f.all(t)
	filters := []ticket.Filter{{},
		{Priority: []ticket.Priority{ticket.PriorityEmergency, ticket.PriorityLow}},
		{Status: []ticket.Status{ticket.StatusClosed}},
		{DepartmentID: f.depts[2].ID},
		{AssigneeID: f.agents[2].ID},
		{Unassigned: true},
		{AssigneeID: f.agents[1].ID, Priority: []ticket.Priority{ticket.PriorityHigh}},
	}
	checked := 0
	for _, who := range f.viewers {
		for _, v := range f.views(who) {
			for _, fl := range filters {
				want := expect(all, who, v, fl, nil)
				for _, limit := range []int{1, 4, 500} {
					got := pages(t, f.pool, who, v, fl, limit)
					if !slices.Equal(got, want) {
						t.Fatalf("viewer %+v, view %+v, filter %+v, limit %d:\n got %v\nwant %v", who, v, fl, limit, got, want)
					}
				}
				checked += len(want)
			}
		}
	}
	if checked < 200 {
		t.Fatalf("only %d rows checked: the random changes left the views too empty", checked)
	}
}

// The queue's order by hand: emergency before high before normal before
// low, and within a priority the oldest first.
func TestQueueOrder(t *testing.T) {
	f := newQueueFixture(t)
	help := f.depts[0]
	low := f.open(t, 1, help, ticket.PriorityLow)
	normal1 := f.open(t, 2, help, ticket.PriorityNormal)
	emergency := f.open(t, 3, help, ticket.PriorityEmergency)
	normal2 := f.open(t, 4, help, ticket.PriorityNormal)
	high := f.open(t, 5, help, ticket.PriorityHigh)
	rows, next, err := ticket.Queue(context.Background(), f.pool, f.viewers[0], ticket.View{Kind: ticket.ViewUnassigned}, ticket.Filter{}, ticket.Cursor{}, 10)
	if err != nil || !next.IsZero() {
		t.Fatalf("queue: %v, next %v", err, next)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Number)
	}
	want := []string{emergency.Number, high.Number, normal1.Number, normal2.Number, low.Number}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if r := rows[0]; r.Subject != "ticket 3" || r.DepartmentName != "Help Desk" || r.CustomerEmail != "c3@user.example" ||
		r.Status != ticket.StatusOpen || r.CreatedAt.IsZero() || r.UpdatedAt.IsZero() {
		t.Fatalf("row %+v", r)
	}
}

// An agent sees the tickets of their departments and those assigned to
// them, nothing else; a department view of another department is refused.
func TestQueueAccess(t *testing.T) {
	f := newQueueFixture(t)
	ctx := context.Background()
	help, sys := f.depts[0], f.depts[1]
	theirs := f.open(t, 1, help, ticket.PriorityHigh)
	other := f.open(t, 2, help, ticket.PriorityHigh)
	f.open(t, 3, sys, ticket.PriorityHigh)
	mary := f.viewers[1]
	if _, err := f.store.Apply(ctx, theirs.Number, ticket.System("t"), ticket.Op{Kind: ticket.OpAssign, Value: "mary"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.views(mary) {
		rows, _, err := ticket.Queue(ctx, f.pool, mary, v, ticket.Filter{}, ticket.Cursor{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.DepartmentID != sys.ID && r.AssigneeID != mary.AgentID {
				t.Fatalf("view %v shows Mary ticket %s of %s, assigned to %q", v, r.Number, r.DepartmentName, r.AssigneeName)
			}
			if r.ID == other.ID {
				t.Fatalf("view %v shows Mary %s", v, other.Number)
			}
		}
	}
	rows, _, err := ticket.Queue(ctx, f.pool, mary, ticket.View{Kind: ticket.ViewOpen}, ticket.Filter{DepartmentID: help.ID}, ticket.Cursor{}, 100)
	if err != nil || len(rows) != 1 || rows[0].ID != theirs.ID {
		t.Fatalf("Mary's open tickets in Help Desk: %v %+v", err, rows)
	}
	_, _, err = ticket.Queue(ctx, f.pool, mary, ticket.View{Kind: ticket.ViewDepartment, DepartmentID: help.ID}, ticket.Filter{}, ticket.Cursor{}, 100)
	if !errors.Is(err, ticket.ErrNotAllowed) {
		t.Fatalf("Mary's view of Help Desk: %v, want ErrNotAllowed", err)
	}
	counts, err := ticket.QueueCounts(ctx, f.pool, mary)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := counts[ticket.View{Kind: ticket.ViewDepartment, DepartmentID: help.ID}]; ok {
		t.Fatalf("Mary has a count for Help Desk: %v", counts)
	}
	if n := counts[ticket.View{Kind: ticket.ViewOpen}]; n != 2 {
		t.Fatalf("Mary's open count %d, want 2 (her department's and her own): %v", n, counts)
	}
}

// The counts equal a count over the tickets after many random changes,
// several goroutines changing tickets of the same departments at once.
func TestQueueCountsExact(t *testing.T) {
	f := newQueueFixture(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	var mu sync.Mutex
	var numbers []string
	for i := range 30 {
		numbers = append(numbers, f.open(t, i, f.depts[r.IntN(3)], priorities[r.IntN(4)]).Number)
	}
	const workers, steps = 6, 60
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for i := range steps {
				if r.IntN(6) == 0 {
					var tk *ticket.Ticket
					err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
						var err error
						tk, _, err = tx.Open(ctx, ticket.NewTicket{Subject: "more",
							Customer:     ticket.Contact{Email: fmt.Sprintf("w%d-%d@user.example", w, i)},
							DepartmentID: f.depts[r.IntN(3)].ID, Priority: priorities[r.IntN(4)]})
						return err
					})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					numbers = append(numbers, tk.Number)
					mu.Unlock()
					continue
				}
				mu.Lock()
				number := numbers[r.IntN(len(numbers))]
				mu.Unlock()
				if err := f.randomChange(ctx, r, number); err != nil {
					errs <- fmt.Errorf("change %s: %w", number, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := f.all(t)
	for _, who := range f.viewers {
		counts, err := ticket.QueueCounts(ctx, f.pool, who)
		if err != nil {
			t.Fatal(err)
		}
		views := f.views(who)
		if len(counts) != len(views) {
			t.Errorf("viewer %+v: %d counts, want %d: %v", who, len(counts), len(views), counts)
		}
		for _, v := range views {
			want := len(expect(all, who, v, ticket.Filter{}, nil))
			if got, ok := counts[v]; !ok || got != want {
				t.Errorf("viewer %+v, view %+v: count %d (%v), want %d", who, v, got, ok, want)
			}
		}
	}
	if n := dbtest.Count(t, f.pool, `
		SELECT count(*) FROM (
		  (SELECT department_id, assignee_id, status, n FROM queue_counts WHERE day = 0 AND n <> 0
		   EXCEPT SELECT department_id, coalesce(assignee_id, 0), status, count(*) FROM tickets GROUP BY 1, 2, 3)
		  UNION ALL
		  (SELECT department_id, coalesce(assignee_id, 0), status, count(*) FROM tickets GROUP BY 1, 2, 3
		   EXCEPT SELECT department_id, assignee_id, status, n FROM queue_counts WHERE day = 0 AND n <> 0)) x`); n != 0 {
		t.Fatalf("queue_counts differs from the tickets in %d rows", n)
	}
}
