package ticket

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The queue counts (table queue_counts) are kept by the transaction that
// opens or changes a ticket: each change moves the ticket from the count
// of its old (department, assignee, status) to that of its new one. The
// moves are gathered in the Tx and written once, just before commit, in
// the order of the table's key: two transactions then take the rows they
// share in the same order and cannot deadlock on them, and each holds them
// only for the last statement before its commit.

// countKey is one row of queue_counts. Day is 0 for the row that counts
// every ticket; a resolved ticket is counted again under the day it was
// resolved (days since 1970-01-01 UTC).
type countKey struct {
	Department int64
	Assignee   int64 // 0: nobody
	Status     Status
	Day        int32
}

// countKeyOf is where tk is counted, as it stands.
func countKeyOf(tk *Ticket) countKey {
	k := countKey{Department: tk.DepartmentID, Assignee: tk.AssigneeID, Status: tk.Status}
	if tk.Status == StatusResolved && tk.ResolvedAt != nil {
		k.Day = dayOf(*tk.ResolvedAt)
	}
	return k
}

// dayOf is t's day in queue_counts: days since 1970-01-01, UTC, as the
// migration computes it.
func dayOf(t time.Time) int32 {
	s := t.Unix()
	d := s / 86400
	if s < 0 && s%86400 != 0 {
		d--
	}
	return int32(d)
}

// count adds delta to the rows that count a ticket at k.
func (t *Tx) count(k countKey, delta int) {
	if t.counts == nil {
		t.counts = map[countKey]int{}
	}
	if k.Day != 0 {
		t.counts[k] += delta
		k.Day = 0
	}
	t.counts[k] += delta
}

// counted records that tk, counted at before, now stands where it is.
func (t *Tx) counted(before countKey, tk *Ticket) {
	after := countKeyOf(tk)
	if after == before {
		return
	}
	t.count(before, -1)
	t.count(after, +1)
}

// flushCounts writes the gathered moves, in key order, and forgets them;
// a member of a shared transaction hands them to the group's Counts
// instead, which writes the moves of all members at once.
func (t *Tx) flushCounts(ctx context.Context) error {
	if t.group != nil {
		t.group.add(t.counts)
		t.counts = nil
		return nil
	}
	err := writeCounts(ctx, t.tx, t.counts)
	t.counts = nil
	return err
}

// Counts gathers the queue count moves of the members of one shared
// transaction (intake's group commit): written by each member as it
// finishes, the rows of two groups could be locked in opposite orders and
// the groups deadlock; written once, in key order, just before the group
// commits, they cannot.
type Counts struct {
	mu    sync.Mutex
	moves map[countKey]int
}

func (c *Counts) add(moves map[countKey]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.moves == nil {
		c.moves = map[countKey]int{}
	}
	for k, d := range moves {
		c.moves[k] += d
	}
}

// Write writes the gathered moves in db, the shared transaction, before it
// commits.
func (c *Counts) Write(ctx context.Context, db pgx.Tx) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := writeCounts(ctx, db, c.moves)
	c.moves = nil
	return err
}

// writeCounts writes moves in key order, so that every transaction takes
// the rows' locks in one order.
func writeCounts(ctx context.Context, db pgx.Tx, moves map[countKey]int) error {
	keys := make([]countKey, 0, len(moves))
	for k, d := range moves {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b countKey) int {
		return cmp.Or(cmp.Compare(a.Department, b.Department), cmp.Compare(a.Assignee, b.Assignee),
			cmp.Compare(a.Status, b.Status), cmp.Compare(a.Day, b.Day))
	})
	depts, agents := make([]int64, len(keys)), make([]int64, len(keys))
	statuses, days, deltas := make([]string, len(keys)), make([]int32, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		depts[i], agents[i], statuses[i], days[i] = k.Department, k.Assignee, string(k.Status), k.Day
		deltas[i] = int64(moves[k])
	}
	// WITH ORDINALITY and ORDER BY keep the rows in key order as they are
	// inserted, so the row locks are taken in that order.
	if _, err := db.Exec(ctx, `
		INSERT INTO queue_counts AS c (department_id, assignee_id, status, day, n)
		SELECT d, a, s, day, n
		  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::integer[], $5::bigint[])
		       WITH ORDINALITY AS u(d, a, s, day, n, i)
		 ORDER BY i
		ON CONFLICT (department_id, assignee_id, status, day) DO UPDATE SET n = c.n + EXCLUDED.n`,
		depts, agents, statuses, days, deltas); err != nil {
		return fmt.Errorf("ticket: queue counts: %w", err)
	}
	return nil
}
