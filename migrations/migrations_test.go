package migrations_test

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/migrations"
	"github.com/postdesk/postdesk/migrations/dbtest"
)

// schema lists every column of the public schema, so two states compare.
func schema(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT table_name || '.' || column_name || ' ' || data_type
		  FROM information_schema.columns WHERE table_schema = 'public'
		 ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestUpFromEmptyThenNothing(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	applied, err := migrations.Up(ctx, pool)
	if err != nil {
		t.Fatalf("first up: %v", err)
	}
	if len(applied) == 0 {
		t.Fatal("first up applied nothing to an empty database")
	}
	current, latest, err := migrations.Status(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if current != latest || latest != applied[len(applied)-1].Version {
		t.Fatalf("after up: current %d, latest %d, last applied %d", current, latest, applied[len(applied)-1].Version)
	}
	before := schema(t, pool)
	for _, table := range []string{"tickets", "messages", "attachments", "blobs", "inbound_mails",
		"outbound_mails", "ticket_events", "agents", "departments", "help_topics", "mailboxes", "customers"} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = 'public' AND table_name = $1`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s missing after up (err %v)", table, err)
		}
	}

	again, err := migrations.Up(ctx, pool)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if len(again) != 0 {
		t.Fatalf("second up applied %d migrations, want none", len(again))
	}
	after := schema(t, pool)
	if len(before) != len(after) {
		t.Fatalf("schema changed on second run: %d columns before, %d after", len(before), len(after))
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("schema changed on second run: %q became %q", before[i], after[i])
		}
	}
}

// Several processes start at once: the session lock lets exactly one apply.
func TestConcurrentUp(t *testing.T) {
	ctx := context.Background()
	url := dbtest.Empty(t)
	const procs = 4
	var wg sync.WaitGroup
	total := make([]int, procs)
	errs := make([]error, procs)
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			res, err := migrations.Up(ctx, pool)
			total[i], errs[i] = len(res), err
		}()
	}
	wg.Wait()
	sum := 0
	for i := range procs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		sum += total[i]
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, latest, err := migrations.Status(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var files int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&files); err != nil {
		t.Fatal(err)
	}
	sqls, err := fs.Glob(migrations.Files(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	if err := pool.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&newest); err != nil {
		t.Fatal(err)
	}
	if sum != files || files != len(sqls) || newest != latest {
		t.Fatalf("%d processes applied %d migrations in all; version table has %d rows (newest %d) for %d files, latest %d",
			procs, sum, files, newest, len(sqls), latest)
	}
}

// After notices became drafts (00004), a postdesk of the version before,
// still running against the schema, must fail rather than send a draft's
// empty message: its statements name the old message column.
func TestPreviousVersionsNoticeStatementsFail(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.Pool(t) // a database at head
	old := map[string]string{
		// The previous version's worker claims pending notices with their message...
		"claim": `SELECT id, message_id, template, recipient, mail_from, raw, attempts FROM outbound_mails
			WHERE state = 'pending' AND next_attempt_at <= clock_timestamp() ORDER BY next_attempt_at, id LIMIT 50
			FOR UPDATE SKIP LOCKED`,
		// ...and its notifier queues them rendered.
		"queue": `INSERT INTO outbound_mails (ticket_id, event_id, message_id, template, recipient, recipient_kind,
			mail_from, subject, automatic, raw, state, last_error)
			VALUES (NULL, NULL, 'old@x.example', 'customer_ack', 'jane@user.com', 'customer', 'support@bank.example',
			'subject', true, 'From: a', 'pending', '')`,
	}
	for what, sql := range old {
		_, err := pool.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42703" { // undefined_column
			t.Errorf("the previous version's %s statement: %v, want undefined column", what, err)
		}
	}
}
