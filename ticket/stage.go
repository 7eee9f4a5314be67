package ticket

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
)

// Big values (a mail's raw bytes, a large attachment) are handed to
// PostgreSQL by COPY, streamed from the buffer that holds them, instead of
// as a statement parameter: pgx encodes a parameter into a buffer of its
// own and then into the protocol message, so a 24 MiB value would be held
// two or three times more in memory. StageBytes copies the value into a
// temporary table of the connection; the statement that stores it takes
// it from there and empties the table in the same statement:
//
//	WITH staged AS (DELETE FROM postdesk_stage RETURNING value) INSERT ... SELECT ..., staged.value FROM staged

// StageTable is the temporary table StageBytes fills.
const StageTable = "postdesk_stage"

// StreamAbove is the size from which values are staged: below it the one
// statement with the value as a parameter is cheaper (staging takes three
// round trips more), and the copies are small.
const StreamAbove = 1 << 20

// StageBytes puts b, alone, into StageTable, by COPY in its binary format
// straight from b.
//
// It needs the transaction's own connection: a transaction shared by a
// group of mails (intake/groupcommit) has none, so big mails are delivered
// alone. TRUNCATE, not DELETE, empties the table of the value staged last:
// a temporary table is never vacuumed, and a deleted value would keep its
// space as long as the connection lives.
func (t *Tx) StageBytes(ctx context.Context, b []byte) error {
	if t.tx.Conn() == nil {
		return fmt.Errorf("ticket: stage %d bytes: %w: the transaction has no connection of its own", len(b), ErrInvalid)
	}
	if _, err := t.tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+StageTable+` (value bytea NOT NULL)`); err != nil {
		return fmt.Errorf("ticket: stage %d bytes: %w", len(b), err)
	}
	if _, err := t.tx.Exec(ctx, `TRUNCATE `+StageTable); err != nil {
		return fmt.Errorf("ticket: stage %d bytes: %w", len(b), err)
	}
	if _, err := t.tx.Conn().PgConn().CopyFrom(ctx, copyBinaryRow(b),
		`COPY `+StageTable+` (value) FROM STDIN (FORMAT binary)`); err != nil {
		return fmt.Errorf("ticket: stage %d bytes: %w", len(b), err)
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
