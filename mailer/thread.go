package mailer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/ticket"
)

// maxReferences bounds the References field: the first id (the root of
// the conversation) and the most recent ones are what clients thread by.
const maxReferences = 20

// threadIDs returns, oldest first, the Message-IDs of the conversation as
// addr has it in their mailbox: the ticket's first message, the messages
// addr wrote, and the notices already sent (or queued) to addr. Chaining a
// new notice to them (In-Reply-To: the last one; References: all of them)
// makes Gmail, Outlook and Apple Mail show one conversation.
func threadIDs(ctx context.Context, q ticket.Querier, ticketID int64, addr string) ([]string, error) {
	// min(id + 0), not min(id): PostgreSQL turns min(id) into a walk of the
	// primary key from the oldest message until one of this ticket's turns
	// up, which for a new ticket reads every message ever stored. The
	// expression makes it take the ticket's few rows from its index.
	rows, err := q.Query(ctx, `
		SELECT message_id FROM (
		    SELECT m.message_id, m.created_at, m.id AS ord, 0 AS src FROM messages m
		     WHERE m.ticket_id = $1 AND m.message_id <> ''
		       AND (m.id = (SELECT min(id + 0) FROM messages WHERE ticket_id = $1) OR lower(m.author_email) = lower($2))
		    UNION ALL
		    SELECT o.message_id, o.created_at, o.id, 1 FROM outbound_mails o
		     WHERE o.ticket_id = $1 AND lower(o.recipient) = lower($2) AND o.state IN ('pending', 'sent')
		) t ORDER BY created_at, src, ord`, ticketID, addr)
	if err != nil {
		return nil, fmt.Errorf("mailer: thread of ticket %d: %w", ticketID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("mailer: thread of ticket %d: %w", ticketID, err)
	}
	return threadOf(ids), nil
}

// threadOf keeps the ids worth repeating in a header, each once.
func threadOf(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if validID(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// trimReferences keeps the first id and the newest ones.
func trimReferences(ids []string) []string {
	if len(ids) <= maxReferences {
		return ids
	}
	return append([]string{ids[0]}, ids[len(ids)-maxReferences+1:]...)
}

// validID reports whether id can go between angle brackets in a header:
// printable ASCII without spaces or brackets. Stored ids come from other
// people's mail and are checked before they are repeated.
func validID(id string) bool {
	if id == "" || len(id) > 250 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}
