package dbtest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// RoundTrips is a pgx tracer (set it as a pool's ConnConfig.Tracer) that
// counts the statements and batches sent to PostgreSQL: each is one round
// trip, which is what batching and group commit save.
type RoundTrips struct {
	// Show prints the SQL of the statements sent while fewer than Show
	// round trips are counted, to see what a count is made of.
	Show int64
	n    atomic.Int64
}

// N is the number of round trips so far.
func (r *RoundTrips) N() int64 { return r.n.Load() }

func (r *RoundTrips) show(kind, sql string) {
	if r.n.Load() < r.Show {
		fmt.Println(kind, strings.Join(strings.Fields(sql), " "))
	}
}

// TraceQueryStart counts a statement sent on its own.
func (r *RoundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.show("Q:", d.SQL)
	r.n.Add(1)
	return ctx
}

// TraceQueryEnd does nothing; pgx's QueryTracer needs it.
func (r *RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts a batch, however many statements it carries.
func (r *RoundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}

// TraceBatchQuery counts nothing: the batch is one round trip.
func (r *RoundTrips) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.show("BATCHQ:", d.SQL)
}

// TraceBatchEnd does nothing; pgx's BatchTracer needs it.
func (r *RoundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
