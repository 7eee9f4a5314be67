package intake

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// A big mail's raw bytes are handed to PostgreSQL by COPY, streamed from
// the buffer the mail arrived in, instead of as a statement parameter: pgx
// encodes a parameter into a buffer of its own and then into the protocol
// message, which holds a 24 MiB mail two or three times more in memory.
// The COPY goes to a temporary table of the connection, which the insert
// of the mail's row empties again in the same statement.

// streamRawAbove is the size from which a mail's raw bytes are streamed.
// Below it the one statement with the bytes as a parameter is cheaper (the
// COPY costs two round trips more), and the copies are small.
const streamRawAbove = 1 << 20

// finishStreamedSQL is finish's insert taking the raw bytes from the stage.
const finishStreamedSQL = `
	WITH staged AS (DELETE FROM postdesk_raw_stage RETURNING raw)
	INSERT INTO inbound_mails (id, transport, mailbox_id, imap_uidvalidity, imap_uid, remote_addr, mail_from,
	                           rcpt_to, message_id, dedupe_key, raw, size, outcome, reason, ticket_id, thread_rule)
	OVERRIDING SYSTEM VALUE
	SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, staged.raw, $11, $12, $13, $14, $15 FROM staged
	ON CONFLICT (dedupe_key) DO NOTHING
	RETURNING id`

// stageRaw copies raw into the connection's stage table, which holds
// nothing else afterwards.
func (d *delivery) stageRaw(ctx context.Context) error {
	db := d.tx.DB()
	if _, err := db.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS postdesk_raw_stage (raw bytea NOT NULL)`); err != nil {
		return fmt.Errorf("intake: stage mail %s: %w", d.row.messageID, err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM postdesk_raw_stage`); err != nil {
		return fmt.Errorf("intake: stage mail %s: %w", d.row.messageID, err)
	}
	if _, err := db.Conn().PgConn().CopyFrom(ctx, copyBinaryRow(d.raw),
		`COPY postdesk_raw_stage (raw) FROM STDIN (FORMAT binary)`); err != nil {
		return fmt.Errorf("intake: stage mail %s: %w", d.row.messageID, err)
	}
	return nil
}

// copyBinaryRow is COPY's binary format for one row of one bytea column,
// the value read straight from b.
func copyBinaryRow(b []byte) io.Reader {
	head := make([]byte, 0, 11+4+4+2+4)
	head = append(head, "PGCOPY\n\xff\r\n\x00"...)
	head = binary.BigEndian.AppendUint32(head, 0) // flags
	head = binary.BigEndian.AppendUint32(head, 0) // header extension length
	head = binary.BigEndian.AppendUint16(head, 1) // fields in the row
	head = binary.BigEndian.AppendUint32(head, uint32(len(b)))
	return io.MultiReader(bytes.NewReader(head), bytes.NewReader(b), bytes.NewReader([]byte{0xff, 0xff}))
}
