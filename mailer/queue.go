package mailer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// queue drafts notices and stores them in order, held back by the
// per-recipient cap where it applies, and wakes the workers when any is
// pending. It returns how many are pending.
//
// It reads what the notices depend on (each recipient's thread of
// Message-IDs, each capped recipient's count of recent automatic mail) in
// one statement and writes them all in another, where a notice at a time
// took three statements: a transaction's notices are the bulk of its round
// trips otherwise. Notices queued earlier in the same call count as if they
// had been stored one by one: they join the thread of a later notice to the
// same recipient on the same ticket, and the count of a later capped one.
func (n *Notifier) queue(ctx context.Context, tx pgx.Tx, notices []notice) (int, error) {
	if len(notices) == 0 {
		return 0, nil
	}
	known, err := n.lookup(ctx, tx, notices)
	if err != nil {
		return 0, err
	}
	limit := n.opts.autoReplyLimit()
	outs := make([]outbound, len(notices))
	states := make([]string, len(notices))
	reasons := make([]string, len(notices))
	pending := 0
	for i := range notices {
		nt := &notices[i]
		addr := strings.ToLower(nt.to.Email)
		var thread []string
		if nt.ticket != nil {
			ids := known.threads[i]
			for j := range i {
				// Stored before this one, an earlier notice would sort last.
				if states[j] == "pending" && sameThread(&notices[j], nt) {
					ids = append(ids, outs[j].MessageID)
				}
			}
			thread = threadOf(ids)
		}
		out, d, err := n.draftOf(nt, thread)
		if err != nil {
			return 0, err
		}
		if out.Draft, err = d.encode(); err != nil {
			return 0, err
		}
		outs[i], states[i] = out, "pending"
		if capped(nt) && limit >= 0 {
			count := known.counts[addr]
			for j := range i {
				if states[j] == "pending" && outs[j].Automatic && strings.ToLower(notices[j].to.Email) == addr {
					count++
				}
			}
			if count >= limit {
				states[i] = "suppressed"
				reasons[i] = fmt.Sprintf("not sent: %d automatic mails went to this address in the past hour (limit %d); a loop with an autoresponder is likely",
					count, limit)
				n.log.Warn("automatic notice suppressed", "ticket", ticketNumber(nt.ticket), "recipient", nt.to.Email,
					"template", nt.template, "message_id", out.MessageID, "count", count)
			}
		}
		if states[i] == "pending" {
			pending++
		}
	}
	if err := n.store(ctx, tx, outs, states, reasons, pending > 0); err != nil {
		return 0, err
	}
	return pending, nil
}

// sameThread reports whether two notices go to one address about one
// ticket, as threadIDs matches them.
func sameThread(a, b *notice) bool {
	return a.ticket != nil && b.ticket != nil && a.ticket.ID == b.ticket.ID &&
		strings.EqualFold(a.to.Email, b.to.Email)
}

// known is what the stored mail says about a call's notices.
type known struct {
	threads map[int][]string // by notice index: the thread as threadIDs reads it, before validation
	counts  map[string]int   // by lower-case address: automatic mail in the past hour
}

// lookup reads the threads of the notices about a ticket and the recent
// automatic mail of the capped recipients, in one statement.
func (n *Notifier) lookup(ctx context.Context, q pgx.Tx, notices []notice) (known, error) {
	k := known{threads: map[int][]string{}, counts: map[string]int{}}
	var idx, tickets []int64
	var addrs, capAddrs []string
	for i := range notices {
		nt := &notices[i]
		if nt.ticket != nil {
			idx, tickets, addrs = append(idx, int64(i)), append(tickets, nt.ticket.ID), append(addrs, nt.to.Email)
		}
		if capped(nt) && n.opts.autoReplyLimit() >= 0 {
			capAddrs = append(capAddrs, strings.ToLower(nt.to.Email))
		}
	}
	if len(idx) == 0 && len(capAddrs) == 0 {
		return k, nil
	}
	// The thread part is threadIDs' query for every (ticket, address) at
	// once (see there for min(id + 0)); the count part is the cap's count
	// for every capped address.
	rows, err := q.Query(ctx, `
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
		 ORDER BY 1, 2, 3, 4, 5`, idx, tickets, addrs, capAddrs)
	if err != nil {
		return k, fmt.Errorf("mailer: threads and recent mail of %d notices: %w", len(notices), err)
	}
	defer rows.Close()
	for rows.Next() {
		var part, i, n int64
		var value string
		if err := rows.Scan(&part, &i, nil, nil, nil, &value, &n); err != nil {
			return k, fmt.Errorf("mailer: threads and recent mail: %w", err)
		}
		if part == 0 {
			k.threads[int(i)] = append(k.threads[int(i)], value)
		} else {
			k.counts[value] = int(n)
		}
	}
	if err := rows.Err(); err != nil {
		return k, fmt.Errorf("mailer: threads and recent mail of %d notices: %w", len(notices), err)
	}
	return k, nil
}

// store writes the notices in one statement, which also wakes the
// workers (at commit) when any notice is pending.
func (n *Notifier) store(ctx context.Context, tx pgx.Tx, outs []outbound, states, reasons []string, wake bool) error {
	const cols = 13
	var sb strings.Builder
	args := make([]any, 0, len(outs)*cols+1)
	if wake {
		sb.WriteString("WITH queued AS (")
	}
	sb.WriteString(`INSERT INTO outbound_mails (ticket_id, event_id, message_id, template, recipient, recipient_kind,
		                            mail_from, subject, automatic, rendered, draft, state, last_error) VALUES `)
	for i, out := range outs {
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
		var ticketID, eventID *int64
		if out.TicketID != 0 {
			ticketID = &out.TicketID
		}
		if out.EventID != 0 {
			eventID = &out.EventID
		}
		args = append(args, ticketID, eventID, out.MessageID, out.Template, out.Recipient, out.Kind,
			out.From, out.Subject, out.Automatic, out.Raw, out.Draft, states[i], reasons[i])
	}
	if wake {
		// PostgreSQL delivers the notification at commit, and drops it on
		// rollback.
		sb.WriteString(") SELECT pg_notify($" + strconv.Itoa(len(args)+1) + ", '')")
		args = append(args, NotifyChannel)
	}
	if _, err := tx.Exec(ctx, sb.String(), args...); err != nil {
		if len(outs) == 1 {
			return fmt.Errorf("mailer: queue %s to %s: %w", outs[0].Template, outs[0].Recipient, err)
		}
		return fmt.Errorf("mailer: queue %d notices: %w", len(outs), err)
	}
	return nil
}
