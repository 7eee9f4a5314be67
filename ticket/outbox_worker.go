package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The delivery side of the outbox: what a worker claims, renders, marks
// and releases. Workers in any number of processes share the table: rows
// are claimed with FOR UPDATE SKIP LOCKED and reserved for a lease, so each
// notice is taken by one worker at a time.

// QueuedMail is an outbox row claimed for delivery or rendering.
type QueuedMail struct {
	ID        int64
	TicketID  int64
	Number    string // the ticket's, for logs; empty for mail about no ticket
	MessageID string
	Template  string
	Recipient string
	From      string
	Subject   string
	Raw       []byte // nil while only the draft exists
	Draft     []byte
	Attempts  int
}

func scanQueued(rows pgx.Rows) ([]QueuedMail, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueuedMail, error) {
		var q QueuedMail
		err := r.Scan(&q.ID, &q.TicketID, &q.Number, &q.MessageID, &q.Template, &q.Recipient, &q.From, &q.Subject,
			&q.Raw, &q.Draft, &q.Attempts)
		return q, err
	})
}

// ClaimMails claims up to limit due notices, oldest due first, and
// reserves them for lease: other workers skip them until the lease ends or
// they are marked or released.
func (t *Tx) ClaimMails(ctx context.Context, limit int, lease time.Duration) ([]QueuedMail, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT id, coalesce(ticket_id, 0), coalesce((SELECT number FROM tickets t WHERE t.id = ticket_id), ''),
		       message_id, template, recipient, mail_from, subject, rendered, draft, attempts
		  FROM outbound_mails
		 WHERE state = 'pending' AND next_attempt_at <= clock_timestamp()
		 ORDER BY next_attempt_at, id -- the pending index: sent rows are never scanned
		 LIMIT $1
		   FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return nil, fmt.Errorf("ticket: claim: %w", err)
	}
	out, err := scanQueued(rows)
	if err != nil {
		return nil, fmt.Errorf("ticket: claim: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(out))
	for i, q := range out {
		ids[i] = q.ID
	}
	if _, err := t.tx.Exec(ctx, `UPDATE outbound_mails SET next_attempt_at = clock_timestamp() + $2::float8 * interval '1 second'
		WHERE id = ANY($1)`, ids, lease.Seconds()); err != nil {
		return nil, fmt.Errorf("ticket: claim: %w", err)
	}
	return out, nil
}

// ClaimDrafts locks up to limit notices with ids above after that are
// still drafts, whatever their state, for rendering without sending.
func (t *Tx) ClaimDrafts(ctx context.Context, after int64, limit int) ([]QueuedMail, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT id, coalesce(ticket_id, 0), '', message_id, template, recipient, mail_from, subject,
		       rendered, draft, attempts
		  FROM outbound_mails WHERE rendered IS NULL AND id > $1
		 ORDER BY id LIMIT $2
		   FOR UPDATE SKIP LOCKED`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("ticket: claim drafts: %w", err)
	}
	out, err := scanQueued(rows)
	if err != nil {
		return nil, fmt.Errorf("ticket: claim drafts: %w", err)
	}
	return out, nil
}

// StoreRendered replaces the drafts of notices ids with their rendered
// messages raws, so that a retry sends the same bytes.
func (t *Tx) StoreRendered(ctx context.Context, ids []int64, raws [][]byte) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE outbound_mails o SET rendered = r.raw, draft = NULL
		  FROM unnest($1::bigint[], $2::bytea[]) AS r(id, raw)
		 WHERE o.id = r.id`, ids, raws); err != nil {
		return fmt.Errorf("ticket: store rendered notices: %w", err)
	}
	return nil
}

// MessageText is the start of a message's text, as a notice quotes it.
type MessageText struct {
	Text  string // the first characters of Message.Body, at most the limit asked for
	Bytes int    // the size of the whole text
}

// MessageTexts returns the texts (Message.Body) of the messages ids, by
// id, each cut to its first limit characters; a message that is gone is
// missing from the map. A notice quotes no more than that, so a mail of
// many megabytes is never read back whole for its notices.
func (t *Tx) MessageTexts(ctx context.Context, ids []int64, limit int) (map[int64]MessageText, error) {
	texts := map[int64]MessageText{}
	if len(ids) == 0 {
		return texts, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, left(body, $2), octet_length(body) FROM messages WHERE id = ANY($1)`, ids, limit)
	if err != nil {
		return nil, fmt.Errorf("ticket: message texts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var mt MessageText
		if err := rows.Scan(&id, &mt.Text, &mt.Bytes); err != nil {
			return nil, fmt.Errorf("ticket: message texts: %w", err)
		}
		texts[id] = mt
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket: message texts: %w", err)
	}
	return texts, nil
}

// MessageFiles returns the files of the messages ids, by message id, with
// their content, for the messages whose files together stay within limit
// bytes; a message with more is missing from the map (a notice then only
// names its files).
func (t *Tx) MessageFiles(ctx context.Context, ids []int64, limit int64) (map[int64][]Attachment, error) {
	files := map[int64][]Attachment{}
	if len(ids) == 0 {
		return files, nil
	}
	rows, err := t.tx.Query(ctx, `
		SELECT a.message_id, a.filename, a.content_type, a.size, a.inline, a.content_id,
		       CASE WHEN sum(a.size) OVER (PARTITION BY a.message_id) <= $2 THEN b.content END
		  FROM attachments a JOIN blobs b ON b.sha256 = a.sha256
		 WHERE a.message_id = ANY($1)
		 ORDER BY a.message_id, a.id`, ids, limit)
	if err != nil {
		return nil, fmt.Errorf("ticket: message files: %w", err)
	}
	defer rows.Close()
	tooBig := map[int64]bool{}
	for rows.Next() {
		var id int64
		var a Attachment
		if err := rows.Scan(&id, &a.Filename, &a.ContentType, &a.Size, &a.Inline, &a.ContentID, &a.Content); err != nil {
			return nil, fmt.Errorf("ticket: message files: %w", err)
		}
		if a.Content == nil {
			tooBig[id] = true
		}
		files[id] = append(files[id], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket: message files: %w", err)
	}
	for id := range tooBig {
		delete(files, id)
	}
	return files, nil
}

// MarkFailed records that notice id will never go out, and why. The
// caller records the delivery_failed event on its ticket in the same
// transaction.
func (t *Tx) MarkFailed(ctx context.Context, id int64, why string) error {
	if _, err := t.tx.Exec(ctx, `
		UPDATE outbound_mails SET state = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1`,
		id, why); err != nil {
		return fmt.Errorf("ticket: mark notice %d failed: %w", id, err)
	}
	return nil
}

// ReleaseMails hands back claimed notices that were not attempted, so that
// they go out at once rather than after the lease.
func (s *Store) ReleaseMails(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE outbound_mails SET next_attempt_at = clock_timestamp()
		WHERE id = ANY($1) AND state = 'pending'`, ids); err != nil {
		return fmt.Errorf("ticket: release notices: %w", err)
	}
	return nil
}

// NextMailDue returns how long until the next pending notice falls due, by
// the database's clock; ok is false when nothing is pending.
func (s *Store) NextMailDue(ctx context.Context) (d time.Duration, ok bool, err error) {
	var secs *float64
	if err := s.pool.QueryRow(ctx, `
		SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp())::float8
		  FROM outbound_mails WHERE state = 'pending'`).Scan(&secs); err != nil {
		return 0, false, fmt.Errorf("ticket: next due notice: %w", err)
	}
	if secs == nil {
		return 0, false, nil
	}
	return max(0, time.Duration(*secs*float64(time.Second))), true, nil
}

// ListenOutbox calls wake once LISTEN on OutboxChannel has taken effect
// (for what was queued before) and then for every notification, until ctx
// ends or the connection fails; it returns the error. The connection is
// its own, not the pool's: a LISTENing connection must not serve others.
func (s *Store) ListenOutbox(ctx context.Context, wake func()) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("ticket: listen: %w", err)
	}
	conn := c.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(cctx) //nolint:errcheck // closing on the way out
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+OutboxChannel); err != nil {
		return fmt.Errorf("ticket: listen: %w", err)
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("ticket: listen: %w", err)
		}
		wake()
	}
}
