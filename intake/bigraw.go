package intake

import "github.com/postdesk/postdesk/ticket"

// finishStreamedSQL is finish's insert for a mail above ticket.StreamAbove,
// whose raw bytes were staged (ticket.Tx.StageBytes) rather than passed as
// a parameter: a 24 MiB mail is then not copied into pgx's buffers.
const finishStreamedSQL = `
	WITH staged AS (DELETE FROM ` + ticket.StageTable + ` RETURNING value)
	INSERT INTO inbound_mails (id, transport, mailbox_id, imap_uidvalidity, imap_uid, remote_addr, mail_from,
	                           rcpt_to, message_id, dedupe_key, raw, size, outcome, reason, ticket_id, thread_rule)
	OVERRIDING SYSTEM VALUE
	SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, staged.value, $11, $12, $13, $14, $15 FROM staged
	ON CONFLICT (dedupe_key) DO NOTHING
	RETURNING id`
