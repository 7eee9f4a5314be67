package ticket

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The first page's keys: before every ticket in either order.
var (
	firstCreated  = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	firstResolved = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Queue lists a page of view as who sees it, filtered, from cursor (the
// zero Cursor for the first page), at most limit tickets (1 to 500; 50 when
// 0). next is the cursor of the page after, zero after the last page.
// Tickets come by priority, emergency first, then oldest first; in
// ViewResolved newest resolved first. A department view of a department
// the viewer does not work in is ErrNotAllowed.
//
// A page reads, for each department (and status) it covers, one index
// range from the cursor on, at most limit entries: its cost depends on the
// page and the viewer's departments, not on how many tickets there are.
func Queue(ctx context.Context, q Querier, who Viewer, v View, f Filter, cursor Cursor, limit int) (rows []QueueRow, next Cursor, err error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	sql, args, err := queueQuery(ctx, q, who, v, f, cursor, limit)
	if err != nil || sql == "" {
		return nil, Cursor{}, err
	}
	r, err := q.Query(ctx, sql, args)
	if err != nil {
		return nil, Cursor{}, fmt.Errorf("ticket: queue %s: %w", v.Kind, err)
	}
	rows, err = pgx.CollectRows(r, func(r pgx.CollectableRow) (QueueRow, error) {
		var x QueueRow
		err := r.Scan(&x.ID, &x.Number, &x.Subject, &x.CustomerName, &x.CustomerEmail,
			&x.DepartmentID, &x.DepartmentName, &x.AssigneeID, &x.AssigneeName,
			&x.Priority, &x.Status, &x.CreatedAt, &x.UpdatedAt, &x.ResolvedAt, &x.rank)
		return x, err
	})
	if err != nil {
		return nil, Cursor{}, fmt.Errorf("ticket: queue %s: %w", v.Kind, err)
	}
	if len(rows) <= limit {
		return rows, Cursor{}, nil
	}
	rows = rows[:limit]
	last := rows[limit-1]
	next = Cursor{Rank: last.rank, At: last.CreatedAt, ID: last.ID}
	if v.Kind == ViewResolved && last.ResolvedAt != nil {
		next = Cursor{At: *last.ResolvedAt, ID: last.ID}
	}
	return rows, next, nil
}

// queueQuery builds the page's statement: a union of index ranges, one per
// department and status (and one for the viewer's own tickets outside
// their departments), each cut at limit+1, merged and cut again. "" when
// the view and filter cannot match anything.
func queueQuery(ctx context.Context, q Querier, who Viewer, v View, f Filter, c Cursor, limit int) (string, pgx.NamedArgs, error) {
	all, err := allDepartments(ctx, q)
	if err != nil {
		return "", nil, err
	}
	// depts are read whole; in others only the viewer's own tickets.
	var depts, others []int64
	for _, d := range all {
		if who.Admin || slices.Contains(who.Departments, d) {
			depts = append(depts, d)
		} else if who.AgentID != 0 {
			others = append(others, d)
		}
	}
	switch v.Kind {
	case ViewDepartment:
		if !slices.Contains(depts, v.DepartmentID) {
			return "", nil, fmt.Errorf("ticket: queue of department %d: %w", v.DepartmentID, ErrNotAllowed)
		}
		depts, others = []int64{v.DepartmentID}, nil
	case ViewUnassigned:
		others = nil
		if f.AssigneeID != 0 {
			return "", nil, nil
		}
		f.Unassigned = true
	case ViewMine:
		if who.AgentID == 0 || f.Unassigned || (f.AssigneeID != 0 && f.AssigneeID != who.AgentID) {
			return "", nil, nil
		}
		// Mine is the viewer's own tickets in every department.
		depts, others, f.AssigneeID = nil, all, who.AgentID
	case ViewOpen, ViewResolved, ViewAll:
	default:
		return "", nil, fmt.Errorf("ticket: %w: queue %q", ErrInvalid, v.Kind)
	}
	if f.DepartmentID != 0 {
		depts, others = only(depts, f.DepartmentID), only(others, f.DepartmentID)
	}
	if f.Unassigned || (f.AssigneeID != 0 && f.AssigneeID != who.AgentID) {
		others = nil
	}
	statuses := statusesOf(v, f)
	if len(statuses) == 0 || (len(depts) == 0 && len(others) == 0) {
		return "", nil, nil
	}
	priorities := make([]string, len(f.Priority))
	for i, p := range f.Priority {
		priorities[i] = string(p)
	}
	args := pgx.NamedArgs{
		"depts": depts, "others": others, "statuses": statuses, "me": who.AgentID,
		"priorities": priorities, "assignee": f.AssigneeID, "limit": limit + 1,
		"rank": c.Rank, "at": c.At, "id": c.ID,
	}
	var extra strings.Builder
	if len(priorities) > 0 {
		extra.WriteString(` AND t.priority = ANY(@priorities::text[])`)
	}
	switch {
	case f.Unassigned:
		extra.WriteString(` AND t.assignee_id IS NULL`)
	case f.AssigneeID != 0:
		extra.WriteString(` AND t.assignee_id = @assignee`)
	}
	var key, order, outer, final string
	if v.Kind == ViewResolved {
		_, since := recentSince(time.Now())
		args["since"] = since
		if c.IsZero() {
			args["at"] = firstResolved
		}
		extra.WriteString(` AND t.status = 'resolved' AND t.resolved_at >= @since`)
		key = `(t.resolved_at, t.id) < (@at, @id)`
		order = `t.resolved_at DESC, t.id DESC`
		outer = `resolved_at DESC, id DESC`
		final = `page.resolved_at DESC, page.id DESC`
	} else {
		if c.IsZero() {
			args["rank"], args["at"] = -1, firstCreated
		}
		key = `(ticket_priority_rank(t.priority), t.created_at, t.id) > (@rank, @at, @id)`
		order = `ticket_priority_rank(t.priority), t.created_at, t.id`
		outer = `rank, created_at, id`
		final = `page.rank, page.created_at, page.id`
	}
	const cols = `t.id, ticket_priority_rank(t.priority) AS rank, t.created_at, t.resolved_at`
	var parts []string
	if len(depts) > 0 {
		parts = append(parts, `
		SELECT p.* FROM unnest(@depts::bigint[]) AS d(id), unnest(@statuses::text[]) AS s(status),
		LATERAL (SELECT `+cols+` FROM tickets t
		          WHERE t.department_id = d.id AND t.status = s.status`+extra.String()+` AND `+key+`
		          ORDER BY `+order+` LIMIT @limit) p`)
	}
	if len(others) > 0 {
		parts = append(parts, `
		SELECT p.* FROM unnest(@others::bigint[]) AS d(id), unnest(@statuses::text[]) AS s(status),
		LATERAL (SELECT `+cols+` FROM tickets t
		          WHERE t.assignee_id = @me AND t.department_id = d.id AND t.status = s.status`+extra.String()+` AND `+key+`
		          ORDER BY `+order+` LIMIT @limit) p`)
	}
	sql := `
	WITH page AS (` + strings.Join(parts, `
		UNION ALL`) + `
		ORDER BY ` + outer + ` LIMIT @limit
	)
	SELECT t.id, t.number, t.subject, c.name, c.email, t.department_id, d.name,
	       coalesce(t.assignee_id, 0), coalesce(a.name, ''), t.priority, t.status,
	       t.created_at, t.updated_at, t.resolved_at, page.rank
	  FROM page
	  JOIN tickets t ON t.id = page.id
	  JOIN departments d ON d.id = t.department_id
	  JOIN customers c ON c.id = t.customer_id
	  LEFT JOIN agents a ON a.id = t.assignee_id
	 ORDER BY ` + final
	return sql, args, nil
}

// only is ids if it holds id, as a list of id alone; else nil.
func only(ids []int64, id int64) []int64 {
	if slices.Contains(ids, id) {
		return []int64{id}
	}
	return nil
}

// QueueCounts counts every queue who sees, exactly: Unassigned, Mine, each
// of their departments (every department for an admin), Open, Resolved
// and All. It sums rows of queue_counts, a few per department and agent,
// whatever the number of tickets.
func QueueCounts(ctx context.Context, q Querier, who Viewer) (map[View]int, error) {
	depts, err := departmentsOf(ctx, q, who)
	if err != nil {
		return nil, err
	}
	since, _ := recentSince(time.Now())
	counts := map[View]int{}
	for _, k := range []ViewKind{ViewUnassigned, ViewMine, ViewOpen, ViewResolved, ViewAll} {
		counts[View{Kind: k}] = 0
	}
	ours := map[int64]bool{}
	for _, d := range depts {
		ours[d] = true
		counts[View{Kind: ViewDepartment, DepartmentID: d}] = 0
	}
	rows, err := q.Query(ctx, `
		SELECT department_id, assignee_id, status, day, n FROM queue_counts
		 WHERE (day = 0 OR day >= $1) AND n <> 0
		   AND ($2 OR department_id = ANY($3::bigint[]) OR assignee_id = $4)`,
		since, who.Admin, nonNilIDs(depts), who.AgentID)
	if err != nil {
		return nil, fmt.Errorf("ticket: queue counts: %w", err)
	}
	type row struct {
		k countKey
		n int
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.k.Department, &x.k.Assignee, &x.k.Status, &x.k.Day, &x.n)
	})
	if err != nil {
		return nil, fmt.Errorf("ticket: queue counts: %w", err)
	}
	for _, x := range list {
		k, ourDept := x.k, ours[x.k.Department]
		theirs := who.AgentID != 0 && k.Assignee == who.AgentID
		if !ourDept && !theirs {
			continue
		}
		if k.Day != 0 {
			counts[View{Kind: ViewResolved}] += x.n
			continue
		}
		counts[View{Kind: ViewAll}] += x.n
		if k.Status != StatusOpen {
			continue
		}
		counts[View{Kind: ViewOpen}] += x.n
		if theirs {
			counts[View{Kind: ViewMine}] += x.n
		}
		if ourDept {
			counts[View{Kind: ViewDepartment, DepartmentID: k.Department}] += x.n
			if k.Assignee == 0 {
				counts[View{Kind: ViewUnassigned}] += x.n
			}
		}
	}
	return counts, nil
}
