package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/intake/groupcommit"
	"github.com/postdesk/postdesk/migrations/dbtest"
)

// pool is a pool on a fresh database with a table "note", and its round
// trip counter.
func pool(t *testing.T) (*pgxpool.Pool, *dbtest.RoundTrips) {
	t.Helper()
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	tr := &dbtest.RoundTrips{}
	pc.ConnConfig.Tracer = tr
	p, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if _, err := p.Exec(ctx, `CREATE TABLE note (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		member int NOT NULL, step int NOT NULL, body text, UNIQUE (member, step))`); err != nil {
		t.Fatal(err)
	}
	return p, tr
}

// share runs fn for n members in one transaction, committed when no member
// failed and nothing aborted.
func share(t *testing.T, p *pgxpool.Pool, n int, fn func(member int, tx pgx.Tx) error) ([]error, error) {
	t.Helper()
	ctx := context.Background()
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	errs, aborted := groupcommit.Share(ctx, tx, n, fn)
	if aborted == nil && errors.Join(errs...) == nil {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return errs, aborted
}

// Members that each run three statements pay three round trips together,
// not three each, and each reads its own results back.
func TestShareBatchesTheMembersStatements(t *testing.T) {
	p, tr := pool(t)
	const members, steps = 6, 3
	before := tr.N()
	errs, aborted := share(t, p, members, func(m int, tx pgx.Tx) error {
		ctx := context.Background()
		for s := range steps {
			var id int64
			var body string
			err := tx.QueryRow(ctx, `INSERT INTO note (member, step, body) VALUES ($1, $2, $3) RETURNING id, body`,
				m, s, fmt.Sprintf("m%d s%d", m, s)).Scan(&id, &body)
			if err != nil {
				return err
			}
			if body != fmt.Sprintf("m%d s%d", m, s) {
				return fmt.Errorf("member %d read %q", m, body)
			}
		}
		return nil
	})
	if aborted != nil || errors.Join(errs...) != nil {
		t.Fatalf("aborted %v, errors %v", aborted, errs)
	}
	// Begin and commit are a round trip each; the statements, one per step.
	if got := tr.N() - before; got != steps+2 {
		t.Fatalf("%d round trips for %d members of %d statements, want %d", got, members, steps, steps+2)
	}
	if n := dbtest.Count(t, p, `SELECT count(*) FROM note`); n != members*steps {
		t.Fatalf("%d rows, want %d", n, members*steps)
	}
	// Within a batch the members run in their order, so that a group runs
	// the same way each time.
	if n := dbtest.Count(t, p, `SELECT count(*) FROM note a JOIN note b ON a.step = b.step AND a.member < b.member
		WHERE a.id > b.id`); n != 0 {
		t.Fatalf("%d pairs of statements ran out of member order", n)
	}
}

// A failed statement aborts the transaction: the member gets its error,
// every later statement fails at once, and nothing is committed.
func TestShareOneFailureAbortsAll(t *testing.T) {
	p, _ := pool(t)
	errs, aborted := share(t, p, 3, func(m int, tx pgx.Tx) error {
		ctx := context.Background()
		step := 0
		if m == 1 {
			step = -1 // collides below
		}
		if _, err := tx.Exec(ctx, `INSERT INTO note (member, step) VALUES (0, $1)`, step+m); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO note (member, step) VALUES ($1, 1)`, m)
		return err
	})
	if !errors.Is(aborted, groupcommit.ErrAborted) {
		t.Fatalf("aborted: %v, want ErrAborted", aborted)
	}
	for m, err := range errs {
		if !errors.Is(err, groupcommit.ErrAborted) {
			t.Fatalf("member %d: %v, want ErrAborted", m, err)
		}
	}
	if n := dbtest.Count(t, p, `SELECT count(*) FROM note`); n != 0 {
		t.Fatalf("%d rows committed after an abort", n)
	}
}

// A member that finishes early leaves the others to go on without it; a
// panic is that member's error and the others still commit.
func TestShareMembersOfDifferentLengthsAndAPanic(t *testing.T) {
	p, _ := pool(t)
	ctx := context.Background()
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	errs, aborted := groupcommit.Share(ctx, tx, 4, func(m int, tx pgx.Tx) error {
		if m == 2 {
			panic("member 2 breaks")
		}
		for s := range m + 1 {
			if _, err := tx.Exec(ctx, `INSERT INTO note (member, step) VALUES ($1, $2)`, m, s); err != nil {
				return err
			}
		}
		return nil
	})
	if aborted != nil {
		t.Fatal(aborted)
	}
	for m, err := range errs {
		if (m == 2) != (err != nil) {
			t.Fatalf("member %d: %v", m, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := dbtest.Count(t, p, `SELECT count(*) FROM note`); n != 1+2+4 {
		t.Fatalf("%d rows, want 7", n)
	}
}

// A member's transaction reads like any pgx.Tx: rows, no rows, values; the
// methods that belong to the transaction as a whole are refused.
func TestShareMemberTxBehavesLikeATx(t *testing.T) {
	p, _ := pool(t)
	errs, aborted := share(t, p, 2, func(m int, tx pgx.Tx) error {
		ctx := context.Background()
		rows, err := tx.Query(ctx, `SELECT g, 'x' || g FROM generate_series(1, $1::int) g`, m+2)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var n int
			var s string
			err := r.Scan(&n, &s)
			return fmt.Sprint(n, s), err
		})
		if err != nil || len(got) != m+2 || got[0] != "1x1" {
			return fmt.Errorf("member %d: rows %v, %v", m, got, err)
		}
		var none int
		if err := tx.QueryRow(ctx, `SELECT 1 WHERE false`).Scan(&none); !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("member %d: no rows: %v", m, err)
		}
		rows, err = tx.Query(ctx, `SELECT 7::bigint, NULL::text`)
		if err != nil {
			return err
		}
		if !rows.Next() {
			return fmt.Errorf("member %d: no row", m)
		}
		v, err := rows.Values()
		rows.Close()
		if err != nil || v[0] != int64(7) || v[1] != nil {
			return fmt.Errorf("member %d: values %v, %v", m, v, err)
		}
		if _, err := tx.Begin(ctx); !errors.Is(err, groupcommit.ErrUnsupported) {
			return fmt.Errorf("member %d: nested Begin: %v", m, err)
		}
		if err := tx.Commit(ctx); !errors.Is(err, groupcommit.ErrUnsupported) {
			return fmt.Errorf("member %d: Commit: %v", m, err)
		}
		if err := tx.SendBatch(ctx, &pgx.Batch{}).Close(); !errors.Is(err, groupcommit.ErrUnsupported) {
			return fmt.Errorf("member %d: SendBatch: %v", m, err)
		}
		return nil
	})
	if aborted != nil || errors.Join(errs...) != nil {
		t.Fatalf("aborted %v, errors %v", aborted, errs)
	}
}
