package mailer

import (
	"context"
	"fmt"
	"strings"

	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/notice"
)

// queue drafts notices and stores them in the ticket outbox in order, held
// back by the per-recipient cap where it applies; the outbox wakes the
// workers when any is pending. It returns how many are pending.
//
// It reads what the notices depend on (each recipient's thread of
// Message-IDs, each capped recipient's count of recent automatic mail) in
// one statement and writes them all in another, where a notice at a time
// took three statements: a transaction's notices are the bulk of its round
// trips otherwise. Notices queued earlier in the same call count as if they
// had been stored one by one: they join the thread of a later notice to the
// same recipient on the same ticket, and the count of a later capped one.
func (n *Notifier) queue(ctx context.Context, tx *ticket.Tx, notices []notice.Notice) (int, error) {
	if len(notices) == 0 {
		return 0, nil
	}
	known, err := n.lookup(ctx, tx, notices)
	if err != nil {
		return 0, err
	}
	limit := n.opts.autoReplyLimit()
	outs := make([]ticket.Outgoing, len(notices))
	pending := 0
	for i := range notices {
		nt := &notices[i]
		addr := strings.ToLower(nt.To.Email)
		var thread []string
		if nt.Ticket != nil {
			ids := known.threads[i]
			for j := range i {
				// Stored before this one, an earlier notice would sort last.
				if outs[j].Suppressed == "" && sameThread(&notices[j], nt) {
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
		if capped(nt) && limit >= 0 {
			count := known.counts[addr]
			for j := range i {
				if outs[j].Suppressed == "" && outs[j].Automatic && strings.ToLower(notices[j].To.Email) == addr {
					count++
				}
			}
			if count >= limit {
				out.Suppressed = fmt.Sprintf("not sent: %d automatic mails went to this address in the past hour (limit %d); a loop with an autoresponder is likely",
					count, limit)
				n.log.Warn("automatic notice suppressed", "ticket", ticketNumber(nt.Ticket), "recipient", nt.To.Email,
					"template", nt.Template, "message_id", out.MessageID, "count", count)
			}
		}
		outs[i] = out
		if out.Suppressed == "" {
			pending++
		}
	}
	if err := tx.Enqueue(ctx, outs); err != nil {
		return 0, fmt.Errorf("mailer: %w", err)
	}
	return pending, nil
}

// sameThread reports whether two notices go to one address about one
// ticket, as the outbox's ThreadIDs matches them.
func sameThread(a, b *notice.Notice) bool {
	return a.Ticket != nil && b.Ticket != nil && a.Ticket.ID == b.Ticket.ID &&
		strings.EqualFold(a.To.Email, b.To.Email)
}

// known is what the stored mail says about a call's notices.
type known struct {
	threads map[int][]string // by notice index: the thread as ThreadIDs reads it, before validation
	counts  map[string]int   // by lower-case address: automatic mail in the past hour
}

// lookup reads the threads of the notices about a ticket and the recent
// automatic mail of the capped recipients, in one statement.
func (n *Notifier) lookup(ctx context.Context, tx *ticket.Tx, notices []notice.Notice) (known, error) {
	k := known{threads: map[int][]string{}, counts: map[string]int{}}
	var idx []int
	var keys []ticket.ThreadKey
	var capAddrs []string
	for i := range notices {
		nt := &notices[i]
		if nt.Ticket != nil {
			idx, keys = append(idx, i), append(keys, ticket.ThreadKey{TicketID: nt.Ticket.ID, Addr: nt.To.Email})
		}
		if capped(nt) && n.opts.autoReplyLimit() >= 0 {
			capAddrs = append(capAddrs, strings.ToLower(nt.To.Email))
		}
	}
	if len(idx) == 0 && len(capAddrs) == 0 {
		return k, nil
	}
	h, err := tx.OutboxHistory(ctx, keys, capAddrs)
	if err != nil {
		return k, fmt.Errorf("mailer: %w", err)
	}
	for j, i := range idx {
		if len(h.Threads[j]) > 0 {
			k.threads[i] = h.Threads[j]
		}
	}
	k.counts = h.Recent
	return k, nil
}
