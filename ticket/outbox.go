package ticket

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The outbox (outbound_mails) holds every notice a change causes, written
// in the change's own transaction: a change that rolls back leaves no row
// and sends nothing, a change that commits leaves a row that a delivery
// worker sends, also after a crash. This file is the writing side and the
// marks of notices handed to the relay (MarkSent, MarkRetry); the rest of
// the delivery side is in outbox_worker.go. Only this package names the
// table.

// OutboxChannel is the PostgreSQL channel the delivery workers LISTEN on.
// A transaction that queues a pending notice notifies it; PostgreSQL
// delivers the notification at commit and drops it on rollback.
const OutboxChannel = "postdesk_outbox"

// Outgoing is one notice as the change's transaction stores it.
type Outgoing struct {
	TicketID      int64 // 0: about no ticket
	EventID       int64 // 0: caused by no event (an answer to an agent's mail)
	MessageID     string
	Template      string
	Recipient     string
	RecipientKind string
	From          string
	Subject       string
	Automatic     bool
	Raw           []byte // the complete message; nil while only the draft exists
	Draft         []byte // what the worker renders the message from
	// Suppressed, when not empty, says why the notice is kept but never
	// sent (state suppressed); empty: pending.
	Suppressed string
}

// ThreadKey names one recipient's conversation about one ticket.
type ThreadKey struct {
	TicketID int64
	Addr     string
}

// OutboxHistory is what the stored mail says about notices about to be
// queued.
type OutboxHistory struct {
	// Threads holds, by index of the keys asked for, the Message-IDs of the
	// conversation as ThreadIDs reads it, not yet checked for use in a
	// header.
	Threads [][]string
	// Recent counts, by lower-case address, the automatic mail that went
	// (or waits to go) there in the past hour.
	Recent map[string]int
}

// capLockSpace is the first key of the advisory locks on capped
// recipients (pg_advisory_xact_lock(int4, int4)), a key space apart from
// the pollers' one-key mailbox locks.
const capLockSpace = 0x706463 // "pdc"

// recipientClaim is the key a shared transaction's member claims for a
// capped address: negative, so it never meets a ticket id.
func recipientClaim(addr string) int64 {
	h := fnv.New64a()
	h.Write([]byte(addr))
	return -int64(h.Sum64()>>1) - 1
}

// OutboxHistory reads the threads of keys and the recent automatic mail of
// the addresses in capped, in one statement: a transaction's notices are
// the bulk of its round trips otherwise.
func (t *Tx) OutboxHistory(ctx context.Context, keys []ThreadKey, capped []string) (OutboxHistory, error) {
	h := OutboxHistory{Threads: make([][]string, len(keys)), Recent: map[string]int{}}
	if len(keys) == 0 && len(capped) == 0 {
		return h, nil
	}
	idx := make([]int64, len(keys))
	tickets := make([]int64, len(keys))
	addrs := make([]string, len(keys))
	for i, k := range keys {
		idx[i], tickets[i], addrs[i] = int64(i), k.TicketID, k.Addr
	}
	lower := make([]string, len(capped))
	for i, a := range capped {
		lower[i] = strings.ToLower(a)
	}
	if len(lower) > 0 {
		// Members of one shared transaction (group commit) would not see
		// each other's notices either: the second to mail an address is
		// made to run in a transaction of its own, after this one.
		for _, a := range lower {
			if err := t.claimed(recipientClaim(a)); err != nil {
				return h, err
			}
		}
		// The cap counts what other transactions committed: two that
		// count at once would both see room for one more. A lock per
		// address, held to commit, makes them count one after the other;
		// the count below is a statement of its own, so that it sees what
		// the transaction it waited for committed. Addresses are locked in
		// one order, so two transactions cannot wait for each other.
		if _, err := t.tx.Exec(ctx, `
			SELECT pg_advisory_xact_lock($2::int4, hashtext(a))
			  FROM (SELECT DISTINCT a FROM unnest($1::text[]) AS u(a) ORDER BY a) s`, lower, capLockSpace); err != nil {
			return h, fmt.Errorf("ticket: lock the capped recipients: %w", err)
		}
	}
	// The thread part is ThreadIDs' query for every (ticket, address) at
	// once (see there for min(id + 0)); the count part is the cap's count
	// for every capped address.
	rows, err := t.tx.Query(ctx, `
		SELECT 0 AS part, k.i, t.created_at, t.src, t.ord, t.message_id, 0::bigint AS n
		  FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS k(i, ticket_id, addr)
		 CROSS JOIN LATERAL (
		    SELECT m.message_id, m.created_at, m.id AS ord, 0 AS src FROM messages m
		     WHERE m.ticket_id = k.ticket_id AND m.message_id <> ''
		       AND (m.id = (SELECT min(id + 0) FROM messages WHERE ticket_id = k.ticket_id) OR lower(m.author_email) = lower(k.addr))
		    UNION ALL
		    SELECT o.message_id, o.created_at, o.id, 1 FROM outbound_mails o
		     WHERE o.ticket_id = k.ticket_id AND lower(o.recipient) = lower(k.addr) AND o.state IN ('pending', 'sent')
		 ) t
		UNION ALL
		SELECT 1, 0, NULL::timestamptz, 0, 0, c.addr,
		       (SELECT count(*) FROM outbound_mails
		         WHERE lower(recipient) = lower(c.addr) AND automatic AND state IN ('pending', 'sent')
		           AND created_at > clock_timestamp() - interval '1 hour')
		  FROM (SELECT DISTINCT addr FROM unnest($4::text[]) AS u(addr)) c
		 ORDER BY 1, 2, 3, 4, 5`, idx, tickets, addrs, lower)
	if err != nil {
		return h, fmt.Errorf("ticket: threads and recent mail of %d notices: %w", len(keys)+len(capped), err)
	}
	defer rows.Close()
	for rows.Next() {
		var part, i, n int64
		var value string
		if err := rows.Scan(&part, &i, nil, nil, nil, &value, &n); err != nil {
			return h, fmt.Errorf("ticket: threads and recent mail: %w", err)
		}
		if part == 0 {
			h.Threads[i] = append(h.Threads[i], value)
		} else {
			h.Recent[value] = int(n)
		}
	}
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("ticket: threads and recent mail: %w", err)
	}
	return h, nil
}

// Enqueue stores mails in the outbox in one statement, in this
// transaction, which also wakes the workers (at commit) when any of them
// is pending.
func (t *Tx) Enqueue(ctx context.Context, mails []Outgoing) error {
	if len(mails) == 0 {
		return nil
	}
	const cols = 13
	wake := false
	for _, m := range mails {
		wake = wake || m.Suppressed == ""
	}
	var sb strings.Builder
	args := make([]any, 0, len(mails)*cols+1)
	if wake {
		sb.WriteString("WITH queued AS (")
	}
	sb.WriteString(`INSERT INTO outbound_mails (ticket_id, event_id, message_id, template, recipient, recipient_kind,
		                            mail_from, subject, automatic, rendered, draft, state, last_error) VALUES `)
	for i, m := range mails {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for c := range cols {
			if c > 0 {
				sb.WriteString(", ")
			}
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(i*cols + c + 1))
		}
		sb.WriteByte(')')
		state := "pending"
		if m.Suppressed != "" {
			state = "suppressed"
		}
		args = append(args, nullID(m.TicketID), nullID(m.EventID), m.MessageID, m.Template, m.Recipient, m.RecipientKind,
			m.From, m.Subject, m.Automatic, m.Raw, m.Draft, state, m.Suppressed)
	}
	if wake {
		sb.WriteString(") SELECT pg_notify($" + strconv.Itoa(len(args)+1) + ", '')")
		args = append(args, OutboxChannel)
	}
	if _, err := t.tx.Exec(ctx, sb.String(), args...); err != nil {
		if len(mails) == 1 {
			return fmt.Errorf("ticket: queue %s to %s: %w", mails[0].Template, mails[0].Recipient, err)
		}
		return fmt.Errorf("ticket: queue %d notices: %w", len(mails), err)
	}
	return nil
}

// ThreadIDs returns, oldest first, the Message-IDs of the conversation as
// addr has it in their mailbox: the ticket's first message, the messages
// addr wrote, and the notices already sent (or queued) to addr. The ids
// come from other people's mail: check them before repeating them.
func (s *Store) ThreadIDs(ctx context.Context, ticketID int64, addr string) ([]string, error) {
	// min(id + 0), not min(id): PostgreSQL turns min(id) into a walk of the
	// primary key from the oldest message until one of this ticket's turns
	// up, which for a new ticket reads every message ever stored. The
	// expression makes it take the ticket's few rows from its index.
	rows, err := s.pool.Query(ctx, `
		SELECT message_id FROM (
		    SELECT m.message_id, m.created_at, m.id AS ord, 0 AS src FROM messages m
		     WHERE m.ticket_id = $1 AND m.message_id <> ''
		       AND (m.id = (SELECT min(id + 0) FROM messages WHERE ticket_id = $1) OR lower(m.author_email) = lower($2))
		    UNION ALL
		    SELECT o.message_id, o.created_at, o.id, 1 FROM outbound_mails o
		     WHERE o.ticket_id = $1 AND lower(o.recipient) = lower($2) AND o.state IN ('pending', 'sent')
		) t ORDER BY created_at, src, ord`, ticketID, addr)
	if err != nil {
		return nil, fmt.Errorf("ticket: thread of ticket %d: %w", ticketID, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("ticket: thread of ticket %d: %w", ticketID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket: thread of ticket %d: %w", ticketID, err)
	}
	return ids, nil
}

// durable is the first statement of a batch whose implicit transaction
// must commit synchronously: it raises the transaction's commit mode to on
// when the session's is off, and leaves a stronger one (remote_apply) as
// it is.
const durable = `SELECT set_config('synchronous_commit', 'on', true) WHERE current_setting('synchronous_commit') = 'off'`

// MarkSent records that the relay accepted notice id, in a transaction of
// its own that commits synchronously: once it returns nil, not even a crash
// of the database server loses the mark, which would send the notice again.
// It marks only a pending notice, so a call repeated after an error that
// left unknown whether the first one committed (the connection dropped
// after COMMIT) changes nothing more: repeat it until it succeeds.
func (s *Store) MarkSent(ctx context.Context, id int64) error {
	b := &pgx.Batch{}
	b.Queue(durable)
	b.Queue(`
		UPDATE outbound_mails
		   SET state = 'sent', sent_at = clock_timestamp(), attempts = attempts + 1, last_error = ''
		 WHERE id = $1 AND state = 'pending'`, id)
	// One batch is one implicit transaction, committed at its end.
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("ticket: mark notice %d sent: %w", id, err)
	}
	return nil
}

// MarkRetry records a temporary failure of notice id: attempts made so
// far, the relay's answer, and the wait before the next attempt. Only a
// pending notice is changed.
func (s *Store) MarkRetry(ctx context.Context, id int64, attempts int, why string, after time.Duration) error {
	if _, err := s.pool.Exec(ctx, `
		UPDATE outbound_mails
		   SET attempts = $2, last_error = $3,
		       next_attempt_at = clock_timestamp() + $4::float8 * interval '1 second'
		 WHERE id = $1 AND state = 'pending'`, id, attempts, why, after.Seconds()); err != nil {
		return fmt.Errorf("ticket: reschedule notice %d: %w", id, err)
	}
	return nil
}

// OutboxStats is the state of the outbox, for health checks and metrics.
type OutboxStats struct {
	ByState map[string]int64 // notices by state: pending, sent, failed, suppressed
	Retries int64            // delivery attempts beyond the first, over all notices
	// OldestPending is the age in seconds of the oldest notice waiting to be
	// delivered; 0 when none waits.
	OldestPending float64
}

// ReadOutboxStats reads the outbox's state. The counts are shared by every
// replica on the database.
func ReadOutboxStats(ctx context.Context, q Querier) (OutboxStats, error) {
	st := OutboxStats{ByState: map[string]int64{}}
	rows, err := q.Query(ctx, `SELECT state, count(*), coalesce(sum(greatest(attempts - 1, 0)), 0)::bigint
		FROM outbound_mails GROUP BY state`)
	if err != nil {
		return st, fmt.Errorf("ticket: outbox stats: %w", err)
	}
	for rows.Next() {
		var state string
		var n, r int64
		if err := rows.Scan(&state, &n, &r); err != nil {
			rows.Close()
			return st, fmt.Errorf("ticket: outbox stats: %w", err)
		}
		st.ByState[state], st.Retries = n, st.Retries+r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("ticket: outbox stats: %w", err)
	}
	if err := q.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8
		FROM outbound_mails WHERE state = 'pending'`).Scan(&st.OldestPending); err != nil {
		return st, fmt.Errorf("ticket: outbox stats: %w", err)
	}
	return st, nil
}
