package ticket

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The lookups intake threads a mail by. Each costs one statement, and none
// locks: the caller locks the ticket it settles on (Lock).

// TicketOfNotice returns the ticket of the newest notice we sent whose
// Message-ID is one of messageIDs, as a reply's In-Reply-To and References
// carry them; 0 when there is none.
func (t *Tx) TicketOfNotice(ctx context.Context, messageIDs []string) (int64, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `SELECT ticket_id FROM outbound_mails
		WHERE message_id = ANY($1) AND ticket_id IS NOT NULL ORDER BY id DESC LIMIT 1`, nonNil(messageIDs)).Scan(&id)
	if err != nil && !isNoRows(err) {
		return 0, fmt.Errorf("ticket: ticket of notice: %w", err)
	}
	return id, nil
}

// TicketOfMessage returns the ticket of the newest message stored with one
// of messageIDs as its Message-ID; 0 when there is none.
func (t *Tx) TicketOfMessage(ctx context.Context, messageIDs []string) (int64, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `SELECT ticket_id FROM messages
		WHERE message_id = ANY($1) ORDER BY id DESC LIMIT 1`, nonNil(messageIDs)).Scan(&id)
	if err != nil && !isNoRows(err) {
		return 0, fmt.Errorf("ticket: ticket of message: %w", err)
	}
	return id, nil
}

// TicketID returns the id of the ticket numbered exactly number (as a
// signed reply address carries it); ErrNotFound when there is none.
func (t *Tx) TicketID(ctx context.Context, number string) (int64, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `SELECT id FROM tickets WHERE number = $1`, number).Scan(&id)
	if err != nil {
		return 0, notFound(err, "ticket "+number)
	}
	return id, nil
}

// Participant returns the id of the ticket numbered number and whether
// email takes part in it: its customer, a collaborator, or an active
// agent. A subject token is proof of a thread only from a participant.
// ErrNotFound when there is no such ticket.
func (t *Tx) Participant(ctx context.Context, number, email string) (id int64, takesPart bool, err error) {
	err = t.tx.QueryRow(ctx, `
		SELECT t.id,
		       lower(c.email) = lower($2)
		       OR EXISTS (SELECT 1 FROM collaborators x JOIN customers cc ON cc.id = x.customer_id
		                   WHERE x.ticket_id = t.id AND lower(cc.email) = lower($2))
		       OR EXISTS (SELECT 1 FROM agents a WHERE a.active AND lower(a.email) = lower($2))
		  FROM tickets t JOIN customers c ON c.id = t.customer_id
		 WHERE t.number = $1`, number, email).Scan(&id, &takesPart)
	if err != nil {
		return 0, false, notFound(err, "ticket "+number)
	}
	return id, takesPart, nil
}

// Numbers returns the public numbers of the tickets with the given ids, in
// one statement; ids of no ticket are left out.
func Numbers(ctx context.Context, q Querier, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT id, number FROM tickets WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("ticket: numbers: %w", err)
	}
	var id int64
	var number string
	_, err = pgx.ForEachRow(rows, []any{&id, &number}, func() error {
		out[id] = number
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ticket: numbers: %w", err)
	}
	return out, nil
}
