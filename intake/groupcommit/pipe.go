package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// pipe lets the members of a group commit run their statements in one
// transaction without waiting for each other's round trips: each member is a
// goroutine running the usual code against a pgx.Tx of its own (pipeTx);
// once every member still running waits for a statement, the pipe sends all
// their statements to PostgreSQL as one batch and hands each member its
// result. A group of n members thus pays about as many round trips as its
// longest member, not n times as many.
//
// Any statement error aborts the whole transaction, as PostgreSQL does;
// from then on every statement fails at once, and the group rolls back.
type pipe struct {
	tx    pgx.Tx
	calls chan *pipeCall
	exits chan struct{}
	live  int
	// scan serializes the members' use of the connection's type map, which
	// is not safe for concurrent use; the pipe itself only uses it while
	// every member waits.
	scan sync.Mutex
}

// Share runs fn once for each of n members, each in a goroutine of its own
// with its own view of tx, and sends the statements the members wait on
// together, as one batch. It returns when every member has returned: each
// member's error (a panic in fn becomes that member's error, so that the
// caller can do that member's work again on its own, where the panic
// surfaces as usual), and the error that aborted tx, if one did. The caller
// owns tx: it commits it, or rolls it back when any error matters to it.
//
// A member's tx supports Exec, Query and QueryRow; the rest (nested
// transactions, batches, COPY, the connection) fail with ErrUnsupported.
func Share(ctx context.Context, tx pgx.Tx, n int, fn func(member int, tx pgx.Tx) error) (errs []error, aborted error) {
	p := newPipe(tx, n)
	errs = make([]error, n)
	for i := range n {
		go func() {
			defer p.exit()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panic: %v", r)
				}
			}()
			errs[i] = fn(i, p.member(i))
		}()
	}
	aborted = p.serve(ctx)
	return errs, aborted
}

type pipeCall struct {
	slot  int
	query bool // rows expected (Query, QueryRow), else Exec
	sql   string
	args  []any
	reply chan pipeResult
}

type pipeResult struct {
	tag  pgconn.CommandTag
	fds  []pgconn.FieldDescription
	rows [][][]byte
	err  error
}

func newPipe(tx pgx.Tx, members int) *pipe {
	return &pipe{tx: tx, calls: make(chan *pipeCall), exits: make(chan struct{}), live: members}
}

// member is the transaction as member slot sees it.
func (p *pipe) member(slot int) pgx.Tx { return &pipeTx{p: p, slot: slot} }

// exit tells the pipe that a member is done.
func (p *pipe) exit() { p.exits <- struct{}{} }

// serve runs the members' statements until every member has exited. It
// returns the error that aborted the transaction, if one did.
func (p *pipe) serve(ctx context.Context) error {
	var aborted error
	var waiting []*pipeCall
	for p.live > 0 {
		select {
		case c := <-p.calls:
			if aborted != nil {
				c.reply <- pipeResult{err: aborted}
				continue
			}
			waiting = append(waiting, c)
		case <-p.exits:
			p.live--
		}
		if len(waiting) > 0 && len(waiting) == p.live {
			if err := p.flush(ctx, waiting); err != nil && aborted == nil {
				aborted = err
			}
			waiting = waiting[:0]
		}
	}
	return aborted
}

// ErrAborted is what the statements of a group get once one of them
// failed: the transaction is aborted and nothing of it will be committed.
var ErrAborted = errors.New("groupcommit: transaction aborted")

// flush sends the waiting statements as one batch, in member order so that
// a group runs the same way each time, and answers each member.
func (p *pipe) flush(ctx context.Context, calls []*pipeCall) error {
	slices.SortFunc(calls, func(a, b *pipeCall) int { return a.slot - b.slot })
	b := &pgx.Batch{}
	for _, c := range calls {
		b.Queue(c.sql, c.args...)
	}
	br := p.tx.SendBatch(ctx, b)
	results := make([]pipeResult, len(calls))
	var failed error
	for i, c := range calls {
		r := &results[i]
		if c.query {
			rows, err := br.Query()
			if err == nil {
				for rows.Next() {
					raw := rows.RawValues()
					row := make([][]byte, len(raw))
					for j, v := range raw {
						if v != nil {
							row[j] = append([]byte{}, v...)
						}
					}
					r.rows = append(r.rows, row)
				}
				r.fds = slices.Clone(rows.FieldDescriptions())
				rows.Close()
				err = rows.Err()
				r.tag = rows.CommandTag()
			}
			r.err = err
		} else {
			r.tag, r.err = br.Exec()
		}
		if r.err != nil && failed == nil {
			failed = r.err
		}
	}
	if err := br.Close(); err != nil && failed == nil {
		failed = err
	}
	for i, c := range calls {
		if failed != nil {
			// Even the statements that ran are undone with the transaction.
			results[i] = pipeResult{err: fmt.Errorf("%w: %w", ErrAborted, failed)}
		}
		c.reply <- results[i]
	}
	if failed != nil {
		return fmt.Errorf("%w: %w", ErrAborted, failed)
	}
	return nil
}

// call queues one statement and waits for its result.
func (p *pipe) call(slot int, query bool, sql string, args []any) pipeResult {
	c := &pipeCall{slot: slot, query: query, sql: sql, args: args, reply: make(chan pipeResult, 1)}
	p.calls <- c
	return <-c.reply
}

// pipeTx is a member's view of the group transaction. Only the statement
// methods are supported: nested transactions, batches, COPY and the
// connection itself belong to the pipe.
type pipeTx struct {
	p    *pipe
	slot int
}

// ErrUnsupported is the error of the pgx.Tx methods a member cannot use.
var ErrUnsupported = errors.New("groupcommit: not supported in a shared transaction")

func (t *pipeTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	r := t.p.call(t.slot, false, sql, args)
	return r.tag, r.err
}

func (t *pipeTx) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	r := t.p.call(t.slot, true, sql, args)
	rows := &pipeRows{p: t.p, res: r, i: -1}
	if r.err != nil {
		rows.closed = true
		return rows, r.err
	}
	return rows, nil
}

func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, _ := t.Query(ctx, sql, args...)
	return pipeRow{rows: rows.(*pipeRows)}
}

func (t *pipeTx) Begin(context.Context) (pgx.Tx, error) { return nil, ErrUnsupported }
func (t *pipeTx) Commit(context.Context) error          { return ErrUnsupported }
func (t *pipeTx) Rollback(context.Context) error        { return ErrUnsupported }
func (t *pipeTx) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, ErrUnsupported
}
func (t *pipeTx) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	return pipeBatchResults{}
}
func (t *pipeTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (t *pipeTx) Prepare(context.Context, string, string) (*pgconn.StatementDescription, error) {
	return nil, ErrUnsupported
}
func (t *pipeTx) Conn() *pgx.Conn { return nil }

// pipeRows are a statement's result rows, read in full by the pipe.
type pipeRows struct {
	p      *pipe
	res    pipeResult
	i      int
	closed bool
}

func (r *pipeRows) Close()                                       { r.closed = true }
func (r *pipeRows) Err() error                                   { return r.res.err }
func (r *pipeRows) CommandTag() pgconn.CommandTag                { return r.res.tag }
func (r *pipeRows) FieldDescriptions() []pgconn.FieldDescription { return r.res.fds }
func (r *pipeRows) Conn() *pgx.Conn                              { return nil }

// TypeMap is the connection's; use it only under the pipe's scan lock.
func (r *pipeRows) TypeMap() *pgtype.Map {
	if r.p == nil {
		return nil
	}
	return r.p.tx.Conn().TypeMap()
}

func (r *pipeRows) Next() bool {
	if r.closed || r.i+1 >= len(r.res.rows) {
		r.closed = true
		return false
	}
	r.i++
	return true
}

func (r *pipeRows) Scan(dest ...any) error {
	if r.i < 0 || r.i >= len(r.res.rows) {
		return errors.New("groupcommit: scan without a current row")
	}
	r.p.scan.Lock()
	defer r.p.scan.Unlock()
	return pgx.ScanRow(r.p.tx.Conn().TypeMap(), r.res.fds, r.res.rows[r.i], dest...)
}

func (r *pipeRows) Values() ([]any, error) {
	if r.i < 0 || r.i >= len(r.res.rows) {
		return nil, errors.New("groupcommit: values without a current row")
	}
	r.p.scan.Lock()
	defer r.p.scan.Unlock()
	m := r.p.tx.Conn().TypeMap()
	out := make([]any, len(r.res.fds))
	for j, fd := range r.res.fds {
		buf := r.res.rows[r.i][j]
		if buf == nil {
			continue
		}
		if dt, ok := m.TypeForOID(fd.DataTypeOID); ok {
			v, err := dt.Codec.DecodeValue(m, fd.DataTypeOID, fd.Format, buf)
			if err != nil {
				return nil, err
			}
			out[j] = v
			continue
		}
		if fd.Format == pgx.TextFormatCode {
			out[j] = string(buf)
		} else {
			out[j] = append([]byte{}, buf...)
		}
	}
	return out, nil
}

func (r *pipeRows) RawValues() [][]byte {
	if r.i < 0 || r.i >= len(r.res.rows) {
		return nil
	}
	return r.res.rows[r.i]
}

// pipeRow is QueryRow's result: the first row, or pgx.ErrNoRows.
type pipeRow struct{ rows *pipeRows }

func (r pipeRow) Scan(dest ...any) error {
	if r.rows.res.err != nil {
		return r.rows.res.err
	}
	if !r.rows.Next() {
		return pgx.ErrNoRows
	}
	err := r.rows.Scan(dest...)
	r.rows.Close()
	return err
}

// pipeBatchResults refuses a member's own batch.
type pipeBatchResults struct{}

func (pipeBatchResults) Exec() (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, ErrUnsupported
}
func (pipeBatchResults) Query() (pgx.Rows, error) {
	return &pipeRows{closed: true, res: pipeResult{err: ErrUnsupported}}, ErrUnsupported
}
func (pipeBatchResults) QueryRow() pgx.Row {
	return pipeRow{rows: &pipeRows{closed: true, res: pipeResult{err: ErrUnsupported}}}
}
func (pipeBatchResults) Close() error { return ErrUnsupported }
func (pipeBatchResults) Tx() pgx.Tx   { return nil }
