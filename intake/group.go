package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/ticket"
)

// GroupCommit lets mails that arrive together share one transaction: their
// statements travel to PostgreSQL in common round trips and one COMMIT (one
// WAL flush) makes them all durable. Every mail is still answered only after
// that COMMIT. A mail that cannot be committed with the others (an error, a
// refusal, a duplicate, two mails for one ticket) makes the group roll back,
// and each of its mails is then delivered in a transaction of its own,
// exactly as without group commit.
type GroupCommit struct {
	// MaxMails bounds the mails of one group; 0: 10; 1 turns group commit
	// off (one transaction per mail). Two groups of ten kept 20 concurrent
	// SMTP sessions busiest in BenchmarkSMTPIngest on two cores: bigger
	// groups leave one of the two idle while the other fills.
	MaxMails int
	// MaxGroups bounds the groups (and database connections) in flight; 0: 2.
	// Mails that arrive while that many are running wait and form the next.
	MaxGroups int
}

func (g GroupCommit) withDefaults() GroupCommit {
	if g.MaxMails <= 0 {
		g.MaxMails = 10
	}
	if g.MaxGroups <= 0 {
		g.MaxGroups = 2
	}
	return g
}

// errAlone asks a member to deliver its mail in a transaction of its own.
var errAlone = errors.New("intake: deliver alone")

// member is one mail waiting for, or taking part in, a group commit.
type member struct {
	ctx  context.Context
	env  Envelope
	raw  []byte
	msg  *parse.Message
	perr error
	done chan struct{} // closed when res and err are set
	// finished is closed once the caller is done with the mail, also when
	// it had to deliver it alone.
	finished chan struct{}
	res      Result
	err      error // errAlone, or the error of a mail delivered alone
}

func newMember(ctx context.Context, env Envelope, raw []byte, msg *parse.Message, perr error) *member {
	return &member{ctx: ctx, env: env, raw: raw, msg: msg, perr: perr,
		done: make(chan struct{}), finished: make(chan struct{})}
}

// grouper forms groups from the mails waiting and runs them, at most
// MaxGroups at a time. It keeps no goroutine of its own: whoever finds a
// free slot starts a runner, which takes groups until nobody waits.
type grouper struct {
	p    *Processor
	opts GroupCommit

	mu      sync.Mutex
	waiting []*member
	running int
}

// commit delivers one mail, in a group when others arrive with it.
func (g *grouper) commit(ctx context.Context, env Envelope, raw []byte, msg *parse.Message, perr error) (Result, error) {
	m := newMember(ctx, env, raw, msg, perr)
	g.mu.Lock()
	g.waiting = append(g.waiting, m)
	if g.running < g.opts.MaxGroups {
		g.running++
		go g.runner()
	}
	g.mu.Unlock()
	return g.wait(m)
}

// wait returns what became of m once its group is done. A mail that must
// be delivered alone is delivered here, in the caller's goroutine, where a
// panic ends only the caller's session, as it would without group commit.
func (g *grouper) wait(m *member) (Result, error) {
	defer close(m.finished)
	<-m.done
	if errors.Is(m.err, errAlone) {
		return g.p.deliverAlone(m.ctx, m.env, m.raw, m.msg, m.perr)
	}
	return m.res, m.err
}

// runner runs groups until no mail waits.
func (g *grouper) runner() {
	for {
		g.mu.Lock()
		n := min(len(g.waiting), g.opts.MaxMails)
		// A lone mail waits for a group under way to finish and joins the
		// next one: a transaction of its own would cost a commit for one
		// mail. With no group under way it goes at once.
		if n == 0 || (n == 1 && g.running > 1) {
			g.running--
			g.mu.Unlock()
			return
		}
		batch := append([]*member(nil), g.waiting[:n]...)
		g.waiting = append(g.waiting[:0], g.waiting[n:]...)
		g.mu.Unlock()
		g.run(batch)
	}
}

// run commits batch as one group, or has a lone mail committed in its own
// transaction, and wakes the members.
func (g *grouper) run(batch []*member) {
	if len(batch) == 1 {
		// Holding the slot while the caller commits lets the next mails
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
	results, alone, err := g.p.runGroup(ctx, batch)
	for i, m := range batch {
		switch {
		case err != nil || alone[i]:
			m.err = errAlone
		default:
			m.res = results[i]
		}
	}
	if err != nil {
		g.p.log.Debug("group commit fell back to one transaction per mail", "mails", len(batch), "error", err)
	}
}

// groupContext is not cancelled with any one member (a commit under way is
// finished, not abandoned) but ends at the earliest member deadline.
func groupContext(batch []*member) (context.Context, context.CancelFunc) {
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

// errTicketShared fails a member that touches a ticket another member of
// its group touches: row locks cannot order two changes within one
// transaction, so the second must wait for a transaction of its own.
var errTicketShared = errors.New("intake: ticket changed by another mail of the group")

// runGroup delivers batch in one transaction and commits it. alone marks
// the members that were left out (duplicates, which wrote nothing) and must
// be delivered on their own; any other failure rolls the whole group back
// and is returned.
func (p *Processor) runGroup(ctx context.Context, batch []*member) (results []Result, alone []bool, err error) {
	tx, err := p.store.Pool().Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	results, alone = make([]Result, len(batch)), make([]bool, len(batch))
	errs := make([]error, len(batch))
	// A second copy of a mail in the group (a sender's retry arriving with
	// the first) waits for the group and is then found stored.
	keys := map[string]bool{}
	live := 0
	for i, m := range batch {
		_, key := dedupeKey(m.msg, m.raw)
		alone[i] = keys[key]
		keys[key] = true
		if !alone[i] {
			live++
		}
	}
	g := newPipe(tx, live)
	var claimMu sync.Mutex
	claims := map[int64]int{}
	for i, m := range batch {
		if alone[i] {
			continue
		}
		claim := func(id int64) error {
			claimMu.Lock()
			defer claimMu.Unlock()
			if owner, ok := claims[id]; ok && owner != i {
				return errTicketShared
			}
			claims[id] = i
			return nil
		}
		go func() {
			defer g.exit()
			defer func() {
				if r := recover(); r != nil {
					// The mail is delivered again on its own, where the
					// panic surfaces as it would without group commit.
					errs[i] = fmt.Errorf("panic: %v", r)
				}
			}()
			errs[i] = p.store.InShared(ctx, g.member(i), claim, func(tx *ticket.Tx) error {
				d := &delivery{p: p, tx: tx, env: m.env, raw: m.raw, msg: m.msg}
				var err error
				results[i], err = d.run(ctx, m.perr)
				return err
			})
		}()
	}
	if err := g.serve(ctx); err != nil {
		return nil, nil, err
	}
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, errRaced):
			// It wrote the rest of its handling before it found the copy:
			// the group rolls back and each mail goes again on its own.
			return nil, nil, fmt.Errorf("mail %d of %d: %w", i+1, len(batch), err)
		case errors.Is(err, errDuplicate):
			// Its lookup found the mail stored and it wrote nothing;
			// delivered alone it reports what became of the first copy.
			alone[i] = true
		default:
			return nil, nil, fmt.Errorf("mail %d of %d: %w", i+1, len(batch), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("commit: %w", err)
	}
	return results, alone, nil
}
