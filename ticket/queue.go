package ticket

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ViewKind names a queue of the agents' console.
type ViewKind string

// The queues. Each lists what its viewer may see (Viewer).
const (
	ViewUnassigned ViewKind = "unassigned" // open, nobody's, in the viewer's departments
	ViewMine       ViewKind = "mine"       // open, the viewer's, in any department
	ViewDepartment ViewKind = "department" // open, in one department (View.DepartmentID)
	ViewOpen       ViewKind = "open"       // every open ticket the viewer sees
	ViewResolved   ViewKind = "resolved"   // resolved in the last RecentDays days, newest first
	ViewAll        ViewKind = "all"        // every ticket the viewer sees, in any status
)

// RecentDays is how far back ViewResolved looks: tickets resolved since
// midnight UTC RecentDays-1 days ago.
const RecentDays = 7

// View is one queue; DepartmentID is set for ViewDepartment only.
type View struct {
	Kind         ViewKind
	DepartmentID int64
}

// Viewer is who looks at the queues: an agent sees the tickets of their
// departments and those assigned to them; an admin sees every ticket.
type Viewer struct {
	AgentID     int64
	Departments []int64
	Admin       bool
}

// ViewerOf is the viewer an agent is, with the departments they work in.
func ViewerOf(ctx context.Context, q Querier, agentID int64, admin bool) (Viewer, error) {
	rows, err := q.Query(ctx, `SELECT department_id FROM agent_departments WHERE agent_id = $1 ORDER BY 1`, agentID)
	if err != nil {
		return Viewer{}, fmt.Errorf("ticket: departments of agent %d: %w", agentID, err)
	}
	depts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return Viewer{}, fmt.Errorf("ticket: departments of agent %d: %w", agentID, err)
	}
	return Viewer{AgentID: agentID, Departments: depts, Admin: admin}, nil
}

// Filter narrows a queue; zero fields match everything. A filter that
// contradicts its view (Status resolved on an open view) lists nothing.
type Filter struct {
	Status       []Status
	Priority     []Priority
	DepartmentID int64
	AssigneeID   int64 // the tickets of this agent
	Unassigned   bool  // the tickets of nobody (AssigneeID then 0)
}

// Cursor is where a queue page starts: the sort key and id of the last
// ticket of the page before. The zero Cursor is the first page.
type Cursor struct {
	Rank int       // priority rank (0 emergency … 3 low); unused in ViewResolved
	At   time.Time // created (resolved in ViewResolved)
	ID   int64
}

// IsZero reports the first page's cursor, also what Queue returns after
// the last page.
func (c Cursor) IsZero() bool { return c.ID == 0 }

// String encodes the cursor for a URL; ParseCursor reads it back.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	s := fmt.Sprintf("%d.%d.%d", c.Rank, c.At.UnixMicro(), c.ID)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseCursor reads Cursor.String; "" is the first page.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	parts := strings.Split(string(b), ".")
	if err != nil || len(parts) != 3 {
		return Cursor{}, fmt.Errorf("ticket: %w: queue cursor %q", ErrInvalid, s)
	}
	rank, err1 := strconv.Atoi(parts[0])
	at, err2 := strconv.ParseInt(parts[1], 10, 64)
	id, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || id <= 0 {
		return Cursor{}, fmt.Errorf("ticket: %w: queue cursor %q", ErrInvalid, s)
	}
	return Cursor{Rank: rank, At: time.UnixMicro(at).UTC(), ID: id}, nil
}

// QueueRow is one ticket as a queue lists it.
type QueueRow struct {
	ID             int64
	Number         string
	Subject        string
	CustomerName   string
	CustomerEmail  string
	DepartmentID   int64
	DepartmentName string
	AssigneeID     int64 // 0 when unassigned
	AssigneeName   string
	Priority       Priority
	Status         Status
	CreatedAt      time.Time
	UpdatedAt      time.Time // the last activity
	ResolvedAt     *time.Time
	rank           int
}

// PriorityRank orders priorities as the queues do: 0 for emergency to 3
// for low, as SQL's ticket_priority_rank.
func PriorityRank(p Priority) int {
	switch p {
	case PriorityEmergency:
		return 0
	case PriorityHigh:
		return 1
	case PriorityNormal:
		return 2
	}
	return 3
}

// recentSince is the first day ViewResolved counts, and its midnight.
func recentSince(now time.Time) (int32, time.Time) {
	day := dayOf(now) - (RecentDays - 1)
	return day, time.Unix(int64(day)*86400, 0).UTC()
}

// statusesOf are the statuses view lists, narrowed by the filter.
func statusesOf(v View, f Filter) []string {
	var base []Status
	switch v.Kind {
	case ViewAll:
		base = []Status{StatusOpen, StatusResolved, StatusClosed}
	case ViewResolved:
		base = []Status{StatusResolved}
	default:
		base = []Status{StatusOpen}
	}
	var out []string
	for _, s := range base {
		if len(f.Status) == 0 || slices.Contains(f.Status, s) {
			out = append(out, string(s))
		}
	}
	return out
}

// departmentsOf lists the departments whose tickets the viewer sees
// whole: all of them for an admin.
func departmentsOf(ctx context.Context, q Querier, who Viewer) ([]int64, error) {
	if !who.Admin {
		return slices.Clone(who.Departments), nil
	}
	return allDepartments(ctx, q)
}

func allDepartments(ctx context.Context, q Querier) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT id FROM departments ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("ticket: departments: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// SearchScope is the same viewer's scope for Search.
func (v Viewer) SearchScope() SearchScope {
	return SearchScope{All: v.Admin, Departments: slices.Clone(v.Departments), AgentID: v.AgentID}
}
