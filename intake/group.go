package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/intake/groupcommit"
	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/ticket"
)

// Group commit: mails that arrive together share one transaction
// (package groupcommit). Their statements travel to PostgreSQL in common
// round trips and one COMMIT (one WAL flush) makes them all durable. Every
// mail is still answered only after that COMMIT. A mail that cannot be
// committed with the others (an error, a refusal, a duplicate, two mails
// for one ticket) makes the group roll back, and each of its mails is then
// delivered in a transaction of its own, exactly as without group commit.

// arrival is one mail handed to Deliver, parsed.
type arrival struct {
	env  Envelope
	raw  []byte
	msg  *parse.Message
	perr error
}

// newGrouper returns the committer of the processor's groups; nil when
// group commit is off.
func newGrouper(p *Processor, opts groupcommit.Options) *groupcommit.Committer[arrival, Result] {
	return groupcommit.New(opts, p.runGroup, func(ctx context.Context, a arrival) (Result, error) {
		return p.deliverAlone(ctx, a.env, a.raw, a.msg, a.perr)
	})
}

// errTicketShared fails a member that touches a ticket (or mails a capped
// recipient) another member of its group touches: row locks cannot order
// two changes within one transaction, nor can the cap count what the other
// member has not queued yet, so the second must wait for a transaction of
// its own.
var errTicketShared = errors.New("intake: ticket or recipient shared with another mail of the group")

// runGroup delivers batch in one transaction and commits it. alone marks
// the members that were left out (duplicates, which wrote nothing) and must
// be delivered on their own; any other failure rolls the whole group back
// and is returned.
func (p *Processor) runGroup(ctx context.Context, batch []arrival) (results []Result, alone []bool, err error) {
	defer func() {
		if err != nil {
			p.log.Debug("group commit fell back to one transaction per mail", "mails", len(batch), "error", err)
		}
	}()
	tx, err := p.store.Pool().Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	results, alone = make([]Result, len(batch)), make([]bool, len(batch))
	// A second copy of a mail in the group (a sender's retry arriving with
	// the first) waits for the group and is then found stored.
	keys := map[string]bool{}
	var live []int // the members that run, by index in batch
	for i, m := range batch {
		_, key := dedupeKey(m.msg, m.raw)
		alone[i] = keys[key]
		keys[key] = true
		if !alone[i] {
			live = append(live, i)
		}
	}
	var claimMu sync.Mutex
	claims := map[int64]int{}
	var counts ticket.Counts
	shared, aborted := groupcommit.Share(ctx, tx, len(live), func(member int, gtx pgx.Tx) error {
		i := live[member]
		m := batch[i]
		claim := func(id int64) error {
			claimMu.Lock()
			defer claimMu.Unlock()
			if owner, ok := claims[id]; ok && owner != i {
				return errTicketShared
			}
			claims[id] = i
			return nil
		}
		return p.store.InShared(ctx, gtx, claim, &counts, func(tx *ticket.Tx) error {
			d := &delivery{p: p, tx: tx, env: m.env, raw: m.raw, msg: m.msg}
			var err error
			results[i], err = d.run(ctx, m.perr)
			return err
		})
	})
	if aborted != nil {
		return nil, nil, aborted
	}
	// A member that panicked is delivered again on its own, where the panic
	// surfaces as it would without group commit.
	errs := make([]error, len(batch))
	for member, i := range live {
		errs[i] = shared[member]
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
	if err := counts.Write(ctx, tx); err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("commit: %w", err)
	}
	return results, alone, nil
}
