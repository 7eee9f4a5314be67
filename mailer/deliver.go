package mailer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/ticket"
)

// queued is a claimed outbound_mails row.
type queued struct {
	ID        int64
	TicketID  int64
	Number    string // the ticket's, for logs
	MessageID string
	Template  string
	Recipient string
	From      string
	Raw       []byte
	Attempts  int
}

// outcome of one delivery attempt.
type outcome int

const (
	skipped   outcome = iota // not attempted (stopping, or the connection broke before it)
	sent                     // the relay accepted it
	temporary                // try again later
	permanent                // the relay refused it for good
)

type result struct {
	outcome outcome
	text    string // the relay's reply or the error
}

// DeliverBatch claims up to one batch of due notices, sends them over one
// SMTP connection and records the outcome, all in one transaction: rows
// stay locked (other workers skip them) until their fate is committed. It
// returns how many notices it claimed.
//
// Cancelling ctx aborts the SMTP session; what was sent by then is still
// recorded, and the rest stays queued untouched.
func (w *Worker) DeliverBatch(ctx context.Context) (int, error) {
	dbctx := context.WithoutCancel(ctx)
	claimed := 0
	err := w.store.InTx(dbctx, func(t *ticket.Tx) error {
		rows, err := claim(dbctx, t.DB(), w.queue.BatchSize)
		if err != nil || len(rows) == 0 {
			return err
		}
		claimed = len(rows)
		results := w.sendAll(ctx, rows)
		return w.record(dbctx, t, rows, results)
	})
	if err != nil {
		return claimed, fmt.Errorf("mailer: deliver: %w", err)
	}
	return claimed, nil
}

func claim(ctx context.Context, tx pgx.Tx, limit int) ([]queued, error) {
	rows, err := tx.Query(ctx, `
		SELECT id, coalesce(ticket_id, 0), coalesce((SELECT number FROM tickets t WHERE t.id = ticket_id), ''),
		       message_id, template, recipient, mail_from, raw, attempts
		  FROM outbound_mails
		 WHERE state = 'pending' AND next_attempt_at <= clock_timestamp()
		 ORDER BY next_attempt_at, id -- the pending index: sent rows are never scanned
		 LIMIT $1
		   FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (queued, error) {
		var q queued
		err := r.Scan(&q.ID, &q.TicketID, &q.Number, &q.MessageID, &q.Template, &q.Recipient, &q.From, &q.Raw, &q.Attempts)
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// sendAll sends the rows over one connection.
func (w *Worker) sendAll(ctx context.Context, rows []queued) []result {
	results := make([]result, len(rows))
	sess, err := w.relay.dial(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return results // stopping: all skipped
		}
		// Relay unreachable, TLS or AUTH refused: nothing can go out now.
		w.log.Warn("outbox: relay unavailable", "relay", w.relay.addr(), "err", err, "notices", len(rows))
		for i := range results {
			results[i] = result{outcome: temporary, text: err.Error()}
		}
		return results
	}
	defer sess.close()
	for i, row := range rows {
		if ctx.Err() != nil {
			break
		}
		raw, err := w.dkim.sign(row.Raw)
		if err != nil {
			w.log.Error("outbox: DKIM signing failed", "message_id", row.MessageID, "err", err)
			results[i] = result{outcome: temporary, text: err.Error()}
			continue
		}
		err = sess.send(row.From, row.Recipient, raw)
		switch {
		case err == nil:
			results[i] = result{outcome: sent}
			w.log.Debug("notice sent", "ticket", row.Number, "message_id", row.MessageID,
				"recipient", row.Recipient, "template", row.Template)
			continue
		case ctx.Err() != nil:
			return results // aborted by the stop: not an attempt
		}
		perm, text := verdict(err)
		results[i] = result{outcome: temporary, text: text}
		if perm {
			results[i].outcome = permanent
		}
		w.log.Warn("outbox: relay refused a notice", "ticket", row.Number, "message_id", row.MessageID,
			"recipient", row.Recipient, "reply", text, "permanent", perm)
		if !isProtocolError(err) {
			break // the connection is gone: the rest stays queued
		}
	}
	return results
}

// record writes the outcome of a batch and, for notices that will never
// go out, a delivery_failed event on their ticket.
func (w *Worker) record(ctx context.Context, t *ticket.Tx, rows []queued, results []result) error {
	db := t.DB()
	var sentIDs []int64
	type failure struct {
		row  queued
		text string
	}
	var failed []failure
	for i, row := range rows {
		r := results[i]
		switch r.outcome {
		case sent:
			sentIDs = append(sentIDs, row.ID)
		case temporary:
			attempts := row.Attempts + 1
			if attempts >= w.queue.MaxAttempts {
				text := fmt.Sprintf("gave up after %d attempts: %s", attempts, r.text)
				failed = append(failed, failure{row, text})
				continue
			}
			delay := w.backoff(attempts)
			if _, err := db.Exec(ctx, `
				UPDATE outbound_mails
				   SET attempts = $2, last_error = $3,
				       next_attempt_at = clock_timestamp() + $4::float8 * interval '1 second'
				 WHERE id = $1`, row.ID, attempts, r.text, delay.Seconds()); err != nil {
				return fmt.Errorf("reschedule %s: %w", row.MessageID, err)
			}
		case permanent:
			failed = append(failed, failure{row, r.text})
		}
	}
	if len(sentIDs) > 0 {
		if _, err := db.Exec(ctx, `
			UPDATE outbound_mails
			   SET state = 'sent', sent_at = clock_timestamp(), attempts = attempts + 1, last_error = ''
			 WHERE id = ANY($1)`, sentIDs); err != nil {
			return fmt.Errorf("mark sent: %w", err)
		}
	}
	// Lock tickets in id order so that two workers never wait on each other.
	sort.Slice(failed, func(i, j int) bool { return failed[i].row.TicketID < failed[j].row.TicketID })
	for _, f := range failed {
		if _, err := db.Exec(ctx, `
			UPDATE outbound_mails SET state = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1`,
			f.row.ID, f.text); err != nil {
			return fmt.Errorf("mark failed %s: %w", f.row.MessageID, err)
		}
		w.log.Warn("notice not delivered", "ticket", f.row.Number, "message_id", f.row.MessageID,
			"recipient", f.row.Recipient, "reply", f.text)
		if f.row.TicketID == 0 {
			continue
		}
		tk, err := t.Lock(ctx, f.row.TicketID)
		if err != nil {
			return err
		}
		if _, err := t.Record(ctx, tk, ticket.Event{Actor: ticket.System("postdesk"),
			Action: ticket.ActionDeliveryFailed, New: f.row.Recipient, Detail: f.text}); err != nil {
			return err
		}
	}
	return nil
}

// backoff is the delay before attempt n+1: RetryBase doubled per attempt,
// capped at RetryMax, with ±10% jitter so that a relay coming back is not
// hit by every retry at once.
func (w *Worker) backoff(attempts int) time.Duration {
	d := float64(w.queue.RetryBase) * math.Pow(2, float64(attempts-1))
	d = math.Min(d, float64(w.queue.RetryMax))
	d *= 0.9 + 0.2*rand.Float64()
	return time.Duration(d)
}
