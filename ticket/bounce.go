package ticket

import (
	"context"
	"fmt"
)

// Bounce is a delivery failure reported for one of our notices.
type Bounce struct {
	// MessageIDs may name the notice that bounced: the report's original
	// Message-ID, then its In-Reply-To and References.
	MessageIDs []string
	// Recipient is who could not be reached, when the report says; else
	// the notice's recipient is taken.
	Recipient string
	// Status is what the report says, for the notice and the history.
	Status string
}

// FailOutbound records a bounce of one of our notices: the newest notice
// b names is marked failed with b's status, and its ticket, locked, gets a
// delivery-failed event. It returns the ticket and the recipient; a nil
// ticket when b names none of our notices to a ticket, and then it changes
// nothing.
func (t *Tx) FailOutbound(ctx context.Context, b Bounce) (*Ticket, string, error) {
	var outboundID, ticketID int64
	var recipient string
	err := t.tx.QueryRow(ctx, `
		SELECT id, coalesce(ticket_id, 0), recipient FROM outbound_mails
		 WHERE message_id = ANY($1) ORDER BY id DESC LIMIT 1`, nonNil(b.MessageIDs)).Scan(&outboundID, &ticketID, &recipient)
	if err != nil && !isNoRows(err) {
		return nil, "", fmt.Errorf("ticket: bounce lookup: %w", err)
	}
	if outboundID == 0 || ticketID == 0 {
		return nil, "", nil
	}
	if b.Recipient != "" {
		recipient = b.Recipient
	}
	tk, err := t.Lock(ctx, ticketID)
	if err != nil {
		return nil, "", err
	}
	if _, err := t.tx.Exec(ctx, `UPDATE outbound_mails SET state = 'failed', last_error = $2 WHERE id = $1`,
		outboundID, b.Status); err != nil {
		return nil, "", fmt.Errorf("ticket: bounce: %w", err)
	}
	if _, err := t.Record(ctx, tk, Event{Actor: System("mail system"), Action: ActionDeliveryFailed,
		New: recipient, Detail: b.Status}); err != nil {
		return nil, "", err
	}
	return tk, recipient, nil
}
