package ticket

import (
	"context"
	"fmt"
)

// What the intake needs to know of our own notices when mail comes back:
// a reply that quotes one of their Message-IDs, or a bounce of one.

// TicketOfNotice returns the ticket of the newest of our notices whose
// Message-ID is among ids; 0 when none is (or none is about a ticket).
// Our own Message-ID in a reply's headers is proof of the ticket.
func (t *Tx) TicketOfNotice(ctx context.Context, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var ticketID int64
	err := t.tx.QueryRow(ctx, `SELECT ticket_id FROM outbound_mails
		WHERE message_id = ANY($1) AND ticket_id IS NOT NULL ORDER BY id DESC LIMIT 1`, ids).Scan(&ticketID)
	if err != nil && !isNoRows(err) {
		return 0, fmt.Errorf("ticket: notice by message id: %w", err)
	}
	return ticketID, nil
}

// SentNotice is one of our notices as a bounce refers to it.
type SentNotice struct {
	ID        int64
	TicketID  int64 // 0 for a notice about no ticket
	Recipient string
}

// NoticeByMessageID returns the newest of our notices whose Message-ID is
// among ids; ok is false when there is none.
func (t *Tx) NoticeByMessageID(ctx context.Context, ids []string) (n SentNotice, ok bool, err error) {
	if ids == nil {
		ids = []string{}
	}
	err = t.tx.QueryRow(ctx, `
		SELECT id, coalesce(ticket_id, 0), recipient FROM outbound_mails
		 WHERE message_id = ANY($1) ORDER BY id DESC LIMIT 1`, ids).Scan(&n.ID, &n.TicketID, &n.Recipient)
	if isNoRows(err) {
		return n, false, nil
	}
	if err != nil {
		return n, false, fmt.Errorf("ticket: notice by message id: %w", err)
	}
	return n, true, nil
}

// MarkBounced records that notice id came back undelivered, and why. The
// caller records the delivery_failed event on its ticket in the same
// transaction.
func (t *Tx) MarkBounced(ctx context.Context, id int64, why string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE outbound_mails SET state = 'failed', last_error = $2 WHERE id = $1`, id, why); err != nil {
		return fmt.Errorf("ticket: mark notice %d bounced: %w", id, err)
	}
	return nil
}
