package mailer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/postdesk/postdesk/ticket"
)

// queued is a notice claimed from the outbox.
type queued struct {
	ticket.QueuedMail
	// failed says why the notice could not be rendered: it is not sent.
	failed string
}

func queuedOf(mails []ticket.QueuedMail) []queued {
	out := make([]queued, len(mails))
	for i, m := range mails {
		out[i] = queued{QueuedMail: m}
	}
	return out
}

// outcome of a delivery attempt that did not hand the notice over (one
// the relay accepted is recorded by markSent).
type outcome int

const (
	skipped   outcome = iota // not attempted (stopping, or the connection broke before it)
	temporary                // try again later
	permanent                // the relay refused it for good
)

type result struct {
	outcome outcome
	text    string // the relay's reply or the error
}

// leaseFor is how long a claimed notice is reserved for the worker that
// claimed it: twice the relay timeout (one minute by default). A worker
// that dies leaves its unsent notices to be taken up by another once the
// lease ends; a live one stops sending a batch after a third of it (a send
// can take up to the relay timeout) and releases the rest.
func leaseFor(r Relay) time.Duration {
	if r.Timeout <= 0 {
		r.Timeout = defaultRelayTimeout
	}
	return 2 * r.Timeout
}

// DeliverBatch claims up to one batch of due notices, sends them over one
// SMTP connection and records each one's fate as soon as the relay has
// answered, so that a crash can repeat at most the notice in flight. It
// returns how many notices it claimed.
//
// Claiming reserves the rows for the lease period in a short transaction;
// other workers skip them meanwhile. Cancelling ctx aborts the SMTP session;
// what was sent by then is recorded, and the rest is released untouched.
func (w *Worker) DeliverBatch(ctx context.Context) (int, error) {
	dbctx := context.WithoutCancel(ctx)
	var rows []queued
	// The lease runs from the claim: rendering the drafts comes out of it.
	claimed := time.Now()
	err := w.store.InTx(dbctx, func(t *ticket.Tx) error {
		mails, err := t.ClaimMails(dbctx, w.queue.BatchSize, w.lease)
		if err != nil {
			return err
		}
		rows = queuedOf(mails)
		return w.renderDrafts(dbctx, t, rows)
	})
	if err != nil {
		return 0, fmt.Errorf("mailer: deliver: claim: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	mark := func(i int, r result) error { return w.record(dbctx, rows[i], r) }
	done, err := w.sendAll(ctx, claimed, rows, mark)
	if err != nil {
		return len(rows), w.release(dbctx, rows[done:], err)
	}
	return len(rows), w.release(dbctx, rows[done:], nil)
}

// release hands back notices that were claimed and not attempted, so that
// they go out at once rather than after the lease.
func (w *Worker) release(ctx context.Context, rows []queued, cause error) error {
	if len(rows) == 0 {
		return cause
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	if err := w.store.ReleaseMails(ctx, ids); err != nil && cause == nil {
		cause = fmt.Errorf("mailer: %w", err)
	}
	return cause
}

// sendAll sends the rows over one connection and marks each one's fate as
// soon as it is known. It starts no send once a third of the lease, counted
// from started (the claim), has passed. It returns how many rows it dealt
// with; the rest were not attempted (stopping, the lease running out, or a
// broken connection).
func (w *Worker) sendAll(ctx context.Context, started time.Time, rows []queued, mark func(int, result) error) (int, error) {
	sess, err := w.relay.dial(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil // stopping: nothing attempted
		}
		// Relay unreachable, TLS or AUTH refused: nothing can go out now.
		w.log.Warn("outbox: relay unavailable", "relay", w.relay.addr(), "err", err, "notices", len(rows))
		for i := range rows {
			r := result{outcome: temporary, text: err.Error()}
			if rows[i].failed != "" {
				r = result{outcome: permanent, text: rows[i].failed} // it would never go out
			}
			if err := mark(i, r); err != nil {
				return i, err
			}
		}
		return len(rows), nil
	}
	defer sess.close()
	for i, row := range rows {
		if ctx.Err() != nil || time.Since(started) > w.lease/3 {
			return i, nil
		}
		if row.failed != "" {
			if err := mark(i, result{outcome: permanent, text: row.failed}); err != nil {
				return i, err
			}
			continue
		}
		raw, err := w.dkim.sign(row.Raw)
		if err != nil {
			w.log.Error("outbox: DKIM signing failed", "message_id", row.MessageID, "err", err)
			if err := mark(i, result{outcome: temporary, text: err.Error()}); err != nil {
				return i, err
			}
			continue
		}
		err = sess.send(row.From, row.Recipient, raw)
		switch {
		case err == nil:
			w.log.Debug("notice sent", "ticket", row.Number, "message_id", row.MessageID,
				"recipient", row.Recipient, "template", row.Template)
			retried, err := w.markSent(ctx, row)
			if err != nil {
				return i + 1, err
			}
			if retried {
				// The database was away for a while: the relay may have
				// dropped the idle session, and the lease ran on. The rest
				// is released and goes out in a new round.
				return i + 1, nil
			}
			continue
		case ctx.Err() != nil:
			return i, nil // aborted by the stop: not an attempt
		}
		perm, text := verdict(err)
		r := result{outcome: temporary, text: text}
		if perm {
			r.outcome = permanent
		}
		w.log.Warn("outbox: relay refused a notice", "ticket", row.Number, "message_id", row.MessageID,
			"recipient", row.Recipient, "reply", text, "permanent", perm)
		if err := mark(i, r); err != nil {
			return i + 1, err
		}
		if !isProtocolError(err) || !sess.usable() {
			// The connection is gone, or out of step with the relay: the
			// rest is released and goes out over a new one.
			return i + 1, nil
		}
	}
	return len(rows), nil
}

// Trying again to mark a sent notice: the first wait, the longest.
const (
	markRetryFirst = 50 * time.Millisecond
	markRetryMax   = 2 * time.Second
)

// markSent records that the relay accepted row, trying until the mark
// commits: a notice the relay has and the outbox still calls pending goes
// out again when its lease ends. Each try is bounded by the relay timeout.
// Once ctx ends (the worker stops) it tries for one relay timeout more and
// then gives up with the error; the notice is then sent again after its
// lease, as after a crash. retried reports that the first try failed.
func (w *Worker) markSent(ctx context.Context, row queued) (retried bool, err error) {
	dbctx := context.WithoutCancel(ctx)
	timeout := w.relay.cfg.Timeout
	stopping := ctx.Done()
	var giveUp <-chan time.Time
	wait := markRetryFirst
	for try := 1; ; try++ {
		tctx, cancel := context.WithTimeout(dbctx, timeout)
		err = w.store.MarkSent(tctx, row.ID)
		cancel()
		if err == nil {
			if try > 1 {
				w.log.Info("outbox: sent notice marked", "ticket", row.Number, "message_id", row.MessageID, "tries", try)
			}
			return try > 1, nil
		}
		if try == 1 {
			w.log.Warn("outbox: cannot mark a sent notice, trying until it commits", "ticket", row.Number,
				"message_id", row.MessageID, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-stopping:
			// Stopping: tries go on, for one relay timeout more.
			t.Stop()
			stopping, giveUp = nil, time.After(timeout)
		case <-giveUp:
			t.Stop()
			return true, fmt.Errorf("mark sent %s: %w", row.MessageID, err)
		}
		wait = min(2*wait, markRetryMax)
	}
}

// record writes the fate of a notice not sent (see markSent for one
// sent). A notice that will never go out also gets a delivery_failed event
// on its ticket, in one transaction.
func (w *Worker) record(ctx context.Context, row queued, r result) error {
	switch r.outcome {
	case temporary:
		attempts := row.Attempts + 1
		if attempts < w.queue.MaxAttempts {
			delay := w.backoff(attempts)
			if err := w.store.MarkRetry(ctx, row.ID, attempts, r.text, delay); err != nil {
				return fmt.Errorf("reschedule %s: %w", row.MessageID, err)
			}
			return nil
		}
		r.text = fmt.Sprintf("gave up after %d attempts: %s", attempts, r.text)
	case permanent:
	default:
		return nil
	}
	w.log.Warn("notice not delivered", "ticket", row.Number, "message_id", row.MessageID,
		"recipient", row.Recipient, "reply", r.text)
	// The ticket is locked before the notice's row, in the order a bounce
	// of the same notice takes them (ticket.FailOutbound), so the two
	// cannot deadlock.
	return w.store.InTx(ctx, func(t *ticket.Tx) error {
		var tk *ticket.Ticket
		if row.TicketID != 0 {
			var err error
			if tk, err = t.Lock(ctx, row.TicketID); err != nil {
				return err
			}
		}
		if err := t.MarkFailed(ctx, row.ID, r.text); err != nil {
			return fmt.Errorf("mark failed %s: %w", row.MessageID, err)
		}
		if tk == nil {
			return nil
		}
		_, err := t.Record(ctx, tk, ticket.Event{Actor: ticket.System("postdesk"),
			Action: ticket.ActionDeliveryFailed, New: row.Recipient, Detail: r.text})
		return err
	})
}

// backoff is the delay before attempt n+1: RetryBase times RetryFactor per
// attempt, capped at RetryMax, with ±10% jitter so that a relay coming back
// is not hit by every retry at once.
func (w *Worker) backoff(attempts int) time.Duration {
	d := float64(w.queue.RetryBase) * math.Pow(w.queue.RetryFactor, float64(attempts-1))
	d = math.Min(d, float64(w.queue.RetryMax))
	d *= 0.9 + 0.2*rand.Float64()
	return time.Duration(d)
}
