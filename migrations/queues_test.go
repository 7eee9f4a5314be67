package migrations_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/postdesk/postdesk/migrations"
	"github.com/postdesk/postdesk/migrations/dbtest"
)

// 00009 fills queue_counts from the tickets there are: one row per
// department, assignee (0 for none) and status, and for resolved tickets
// one more per day resolved. Going down removes the table again.
func TestQueueCountsFilledFromTickets(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Files())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO departments (name) VALUES ('Help Desk'), ('System Administrators')`)
	exec(`INSERT INTO agents (name, email, username, secret) VALUES ('Ken Jay', 'ken@bank.example', 'ken', '\x00')`)
	exec(`INSERT INTO customers (email) VALUES ('jane@user.com')`)
	exec(`INSERT INTO tickets (number, subject, department_id, customer_id, assignee_id, status, resolved_at)
		SELECT 'T' || i, 's', 1 + i % 2, 1, CASE WHEN i % 3 = 0 THEN 1 END,
		       (ARRAY['open', 'resolved', 'closed'])[1 + i % 3],
		       CASE WHEN i % 3 = 1 THEN timestamptz '2026-12-01 23:30:00+00' + (i % 4) * interval '1 hour' END
		  FROM generate_series(1, 120) i`)
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	count := func(sql string) int { return dbtest.Count(t, pool, sql) }
	if n := count(`SELECT sum(n) FROM queue_counts WHERE day = 0`); n != 120 {
		t.Fatalf("day-0 rows count %d tickets, want 120", n)
	}
	if n := count(`SELECT count(*) FROM (
		SELECT department_id, assignee_id, status, n FROM queue_counts WHERE day = 0
		EXCEPT SELECT department_id, coalesce(assignee_id, 0), status, count(*) FROM tickets GROUP BY 1, 2, 3) x`); n != 0 {
		t.Fatalf("%d day-0 rows differ from the tickets", n)
	}
	// 40 resolved, at 23:30 and 00:30, 01:30, 02:30 the day after (UTC).
	day := count(`SELECT date '2026-12-01' - date '1970-01-01'`)
	if n := count(`SELECT sum(n) FROM queue_counts WHERE day = ` + itoa(day)); n != 10 {
		t.Fatalf("resolved on 1 December: %d, want 10", n)
	}
	if n := count(`SELECT sum(n) FROM queue_counts WHERE day = ` + itoa(day+1)); n != 30 {
		t.Fatalf("resolved on 2 December: %d, want 30", n)
	}
	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'queue_counts'`); n != 0 {
		t.Fatal("queue_counts left after down")
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
