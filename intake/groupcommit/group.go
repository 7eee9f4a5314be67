// Package groupcommit lets pieces of work that arrive together share one
// PostgreSQL transaction: their statements travel in common round trips
// (Share) and one COMMIT, one WAL flush, makes them all durable. A
// Committer gathers the work into groups; what a group does and how a
// piece of work is done alone are its caller's.
package groupcommit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Options bounds the groups.
type Options struct {
	// MaxMembers bounds the members of one group; 0: 10; 1 turns group
	// commit off (New returns nil). Two groups of ten kept 20 concurrent
	// SMTP sessions busiest in BenchmarkSMTPIngest on two cores: bigger
	// groups leave one of the two idle while the other fills.
	MaxMembers int
	// MaxGroups bounds the groups (and database connections) in flight; 0: 2.
	// Work that arrives while that many are running waits and forms the next.
	MaxGroups int
}

func (o Options) withDefaults() Options {
	if o.MaxMembers <= 0 {
		o.MaxMembers = 10
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = 2
	}
	return o
}

// GroupFunc does items in one transaction and commits it. It returns each
// item's result, or marks in alone the items it left out, which are then
// done alone; an error means the group rolled back, and every item is then
// done alone.
type GroupFunc[T, R any] func(ctx context.Context, items []T) (results []R, alone []bool, err error)

// AloneFunc does one item in a transaction of its own.
type AloneFunc[T, R any] func(ctx context.Context, item T) (R, error)

// Committer forms groups from the items waiting and runs them, at most
// MaxGroups at a time. It keeps no goroutine of its own: whoever finds a
// free slot starts a runner, which takes groups until nobody waits. It is
// safe for concurrent use.
type Committer[T, R any] struct {
	opts  Options
	group GroupFunc[T, R]
	alone AloneFunc[T, R]

	mu      sync.Mutex
	waiting []*member[T, R]
	running int
}

// New returns a committer that runs groups with group and the items left
// out of one with alone; nil when opts turn group commit off.
func New[T, R any](opts Options, group GroupFunc[T, R], alone AloneFunc[T, R]) *Committer[T, R] {
	opts = opts.withDefaults()
	if opts.MaxMembers <= 1 {
		return nil
	}
	return &Committer[T, R]{opts: opts, group: group, alone: alone}
}

// errAlone asks a member to do its item in a transaction of its own.
var errAlone = errors.New("groupcommit: alone")

// member is one item waiting for, or taking part in, a group.
type member[T, R any] struct {
	ctx  context.Context
	item T
	done chan struct{} // closed when res and err are set
	// finished is closed once the caller is done with the item, also when
	// it had to do it alone.
	finished chan struct{}
	res      R
	err      error // errAlone, or the error of an item done alone
}

func newMember[T, R any](ctx context.Context, item T) *member[T, R] {
	return &member[T, R]{ctx: ctx, item: item, done: make(chan struct{}), finished: make(chan struct{})}
}

// Do does item, in a group when others arrive with it, and returns what
// the group or alone made of it.
func (c *Committer[T, R]) Do(ctx context.Context, item T) (R, error) {
	m := newMember[T, R](ctx, item)
	c.mu.Lock()
	c.waiting = append(c.waiting, m)
	if c.running < c.opts.MaxGroups {
		c.running++
		go c.runner()
	}
	c.mu.Unlock()
	return c.wait(m)
}

// Together does items as one group now, whatever else is waiting, and
// returns what each caller of Do would get. It lets a test decide which
// items share a transaction, instead of the timing of their arrival.
func (c *Committer[T, R]) Together(ctx context.Context, items []T) ([]R, []error) {
	batch := make([]*member[T, R], len(items))
	for i, it := range items {
		batch[i] = newMember[T, R](ctx, it)
	}
	go c.run(batch)
	res, errs := make([]R, len(items)), make([]error, len(items))
	for i, m := range batch {
		res[i], errs[i] = c.wait(m)
	}
	return res, errs
}

// wait returns what became of m once its group is done. An item that must
// be done alone is done here, in the caller's goroutine, where a panic ends
// only the caller (an SMTP session, say), as it would without group commit.
func (c *Committer[T, R]) wait(m *member[T, R]) (R, error) {
	defer close(m.finished)
	<-m.done
	if errors.Is(m.err, errAlone) {
		return c.alone(m.ctx, m.item)
	}
	return m.res, m.err
}

// runner runs groups until no item waits.
func (c *Committer[T, R]) runner() {
	for {
		c.mu.Lock()
		n := min(len(c.waiting), c.opts.MaxMembers)
		// A lone item waits for a group under way to finish and joins the
		// next one: a transaction of its own would cost a commit for one
		// item. With no group under way it goes at once.
		if n == 0 || (n == 1 && c.running > 1) {
			c.running--
			c.mu.Unlock()
			return
		}
		batch := append([]*member[T, R](nil), c.waiting[:n]...)
		c.waiting = append(c.waiting[:0], c.waiting[n:]...)
		c.mu.Unlock()
		c.run(batch)
	}
}

// run commits batch as one group, or has a lone item done in its own
// transaction, and wakes the members.
func (c *Committer[T, R]) run(batch []*member[T, R]) {
	if len(batch) == 1 {
		// Holding the slot while the caller commits lets the next items
		// gather.
		m := batch[0]
		m.err = errAlone
		close(m.done)
		<-m.finished
		return
	}
	defer func() {
		for _, m := range batch {
			close(m.done)
		}
	}()
	ctx, cancel := groupContext(batch)
	defer cancel()
	items := make([]T, len(batch))
	for i, m := range batch {
		items[i] = m.item
	}
	results, alone, err := c.group(ctx, items)
	for i, m := range batch {
		switch {
		case err != nil || alone[i]:
			m.err = errAlone
		default:
			m.res = results[i]
		}
	}
}

// groupContext is not cancelled with any one member (a commit under way is
// finished, not abandoned) but ends at the earliest member deadline.
func groupContext[T, R any](batch []*member[T, R]) (context.Context, context.CancelFunc) {
	var deadline time.Time
	for _, m := range batch {
		if d, ok := m.ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
	}
	if deadline.IsZero() {
		return context.WithCancel(context.Background())
	}
	return context.WithDeadline(context.Background(), deadline)
}
