package ticket

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A correspondent that answers every notice within moments and marks none
// of its mail as automatic (a misconfigured bot, an autoresponder without
// Auto-Submitted) would trade mail with us for ever; the per-recipient cap
// on automatic mail only slows it. The loop guard counts, per ticket and
// address, the run of mails that came within LoopAnswerWithin of our last
// notice to that address, and after LoopExchanges in a row mutes the
// address on the ticket: no notice about it goes there any more, and the
// agents are told in an internal note. A slower answer ends the run: people
// who write back quickly now and then are never muted.
const (
	LoopExchanges    = 5
	LoopAnswerWithin = time.Minute
)

// Exchange is what the loop guard made of one mail from an address on a
// ticket.
type Exchange struct {
	Streak    int  // mails in a row that answered a notice within LoopAnswerWithin
	Muted     bool // the address is muted on the ticket
	JustMuted bool // this mail muted it
}

// CountExchange counts a mail from addr on the locked ticket tk and mutes
// addr once its run of quick answers reaches LoopExchanges. Muting records
// an event and an internal note, in this transaction, whose notice tells the
// agents; tk.Muted is updated.
func (t *Tx) CountExchange(ctx context.Context, tk *Ticket, addr string) (Exchange, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	if addr == "" {
		return Exchange{}, nil
	}
	if tk.IsMuted(addr) {
		return Exchange{Muted: true}, nil
	}
	// The last notice to the address about the ticket, at the later of
	// when it was queued and when it was handed to the relay (a bot
	// answers what it received). Each notice counts once: a quick mail
	// after a notice already answered (a customer sending five mails in a
	// minute, one per file) is no new exchange.
	var ex Exchange
	err := t.tx.QueryRow(ctx, `
		WITH last AS (
		    SELECT max(greatest(created_at, coalesce(sent_at, created_at))) AS at
		      FROM outbound_mails
		     WHERE ticket_id = $1 AND lower(recipient) = $2 AND state IN ('pending', 'sent')),
		quick AS (SELECT CASE WHEN at > clock_timestamp() - $3::interval THEN at END AS at FROM last)
		INSERT INTO mail_loops AS l (ticket_id, address, streak, answered, updated_at)
		SELECT $1, $2, CASE WHEN quick.at IS NULL THEN 0 ELSE 1 END, quick.at, clock_timestamp()
		  FROM quick
		ON CONFLICT (ticket_id, address) DO UPDATE
		   SET streak = CASE WHEN EXCLUDED.answered IS NULL THEN 0
		                     WHEN l.answered IS NULL OR EXCLUDED.answered > l.answered THEN l.streak + 1
		                     ELSE l.streak END,
		       answered = coalesce(EXCLUDED.answered, l.answered),
		       updated_at = EXCLUDED.updated_at
		RETURNING streak`, tk.ID, addr, LoopAnswerWithin.String()).Scan(&ex.Streak)
	if err != nil {
		return ex, fmt.Errorf("ticket %s: count the exchange with %s: %w", tk.Number, addr, err)
	}
	if ex.Streak < LoopExchanges {
		return ex, nil
	}
	if _, err := t.tx.Exec(ctx, `
		WITH m AS (UPDATE mail_loops SET muted_at = clock_timestamp() WHERE ticket_id = $1 AND address = $2)
		UPDATE tickets SET muted = array_append(muted, $2) WHERE id = $1 AND NOT ($2 = ANY (muted))`, tk.ID, addr); err != nil {
		return ex, fmt.Errorf("ticket %s: mute %s: %w", tk.Number, addr, err)
	}
	tk.Muted = append(slices.Clip(tk.Muted), addr)
	ex.Muted, ex.JustMuted = true, true
	why := fmt.Sprintf("%s answered our last %d notices on this ticket within %s each, like a machine in a mail loop",
		addr, ex.Streak, LoopAnswerWithin)
	actor := System("loop guard")
	if _, err := t.Record(ctx, tk, Event{Actor: actor, Action: ActionMuted, New: addr, Detail: why}); err != nil {
		return ex, err
	}
	note := Message{Body: fmt.Sprintf("Mail loop stopped: %s.\n\nNo answer and no customer notice about this ticket "+
		"goes to %s any more (an agent's address still gets the agents' alerts); its further mail is kept "+
		"(postdesk mail list --outcome ignored) but changes nothing. Write to %s yourself if a person is behind it.",
		why, addr, addr)}
	return ex, t.Apply(ctx, tk, actor, Op{Kind: OpNote, Message: &note})
}
