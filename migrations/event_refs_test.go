package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/postdesk/postdesk/migrations"
	"github.com/postdesk/postdesk/migrations/dbtest"
)

// 00006 gives existing assignment and transfer events the ids of the
// agents and departments they name: by name in any case, an agent only when
// exactly one carries the name, so that a namesake inherits nothing.
// Going down removes the columns again.
func TestEventRefsFilledFromNames(t *testing.T) {
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
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO departments (name) VALUES ('Help Desk'), ('System Administrators')`)
	exec(`INSERT INTO agents (name, email, username, secret) VALUES
		('Ken Jay', 'ken@bank.example', 'ken', '\x00'), ('Mary Major', 'mary@bank.example', 'mary', '\x00'),
		('Sam Same', 'sam1@bank.example', 'sam1', '\x00'), ('Sam Same', 'sam2@bank.example', 'sam2', '\x00')`)
	exec(`INSERT INTO customers (email) VALUES ('jane@user.com')`)
	exec(`INSERT INTO tickets (number, subject, department_id, customer_id)
		SELECT '123456', 'down', d.id, c.id FROM departments d, customers c WHERE d.name = 'Help Desk'`)
	// action, old value, new value
	events := [][3]string{
		{"assigned", "", "mary major"},         // 1: case differs
		{"assigned", "Mary Major", "Sam Same"}, // 2: two agents are called Sam
		{"assigned", "Ken Jay", "Gone Agent"},  // 3: nobody of that name now
		{"transferred", "help desk", "System Administrators"},
		{"priority_changed", "normal", "high"}, // 5: names nothing
		{"status_changed", "open", "Ken Jay"},  // 6: not an assignment, whatever it says
	}
	for _, e := range events {
		exec(`INSERT INTO ticket_events (ticket_id, actor_kind, action, old_value, new_value)
			SELECT id, 'system', $1, $2, $3 FROM tickets`, e[0], e[1], e[2])
	}
	if _, err := p.UpByOne(ctx); err != nil {
		t.Fatal(err)
	}
	id := func(table, name string) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `SELECT id FROM `+table+` WHERE name = $1 ORDER BY id LIMIT 1`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ken, mary := id("agents", "Ken Jay"), id("agents", "Mary Major")
	help, sys := id("departments", "Help Desk"), id("departments", "System Administrators")
	want := [][4]int64{ // old agent, new agent, old department, new department; 0 for NULL
		{0, mary, 0, 0},
		{mary, 0, 0, 0},
		{ken, 0, 0, 0},
		{0, 0, help, sys},
		{0, 0, 0, 0},
		{0, 0, 0, 0},
	}
	rows, err := pool.Query(ctx, `SELECT coalesce(old_agent_id, 0), coalesce(new_agent_id, 0),
		coalesce(old_department_id, 0), coalesce(new_department_id, 0), old_value, new_value
		FROM ticket_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var got [4]int64
		var oldV, newV string
		if err := rows.Scan(&got[0], &got[1], &got[2], &got[3], &oldV, &newV); err != nil {
			t.Fatal(err)
		}
		if got != want[i] || oldV != events[i][1] || newV != events[i][2] {
			t.Errorf("event %d (%v): ids %v, text %q/%q; want ids %v and the text unchanged", i+1, events[i], got, oldV, newV, want[i])
		}
		i++
	}
	if rows.Err() != nil || i != len(events) {
		t.Fatalf("read %d events (err %v), want %d", i, rows.Err(), len(events))
	}
	if _, err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_name = 'ticket_events' AND column_name LIKE '%\_agent\_id' AND column_name <> 'actor_agent_id'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after down: %d id columns remain (err %v)", n, err)
	}
}
