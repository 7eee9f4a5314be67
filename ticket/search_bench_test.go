package ticket_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/postdesk/postdesk/ticket"
)

// BenchmarkSearch seeds tickets (POSTDESK_BENCH_TICKETS, default 100,000)
// with three messages each, of words drawn from a vocabulary of 5,000 with
// a few rare ones, and reports the server time of searches an agent types:
// a rare word, a common word, two words, a phrase, an address fragment, a
// ticket number and a word within one department, as ms per search and its
// p95 over the runs.
//
//	POSTDESK_BENCH_TICKETS=1000000 go test ./ticket -run '^$' -bench Search -benchtime 50x -timeout 60m
func BenchmarkSearch(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("POSTDESK_BENCH_TICKETS")); err == nil && v > 0 {
		n = v
	}
	f := newFixture(b, nil)
	ctx := context.Background()
	pool := f.store.Pool()
	start := time.Now()
	// Words w0..w4999, the low ones far more common (a square law).
	word := `'w' || floor(power(random(), 2) * 5000)::int`
	seed := func(stmt string, args ...any) {
		if _, err := pool.Exec(ctx, stmt, args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	seed(`INSERT INTO customers (email, name) SELECT 'customer' || i || '@user' || (i % 97) || '.example', 'Customer ' || i
	        FROM generate_series(1, $1::int / 10) i`, n)
	seed(`INSERT INTO tickets (number, subject, department_id, customer_id, priority, status, created_at, updated_at)
	      SELECT lpad(i::text, 7, '0'), `+word+` || ' ' || `+word+` || ' ' || `+word+`,
	             CASE WHEN i % 2 = 0 THEN $2::bigint ELSE $3::bigint END,
	             (SELECT min(id) FROM customers) + i % ($1::int / 10),
	             (ARRAY['low','normal','high','emergency'])[1 + i % 4], (ARRAY['open','resolved','closed'])[1 + i % 3],
	             now() - i * interval '1 second', now() - i * interval '1 second'
	        FROM generate_series(1, $1::int) i`, n, f.help.ID, f.sys.ID)
	seed(`INSERT INTO messages (ticket_id, kind, author_name, author_email, body)
	      SELECT t.id, 'customer', 'Customer', 'customer@user.example',
	             (SELECT string_agg(` + word + `, ' ') FROM generate_series(1, 60 + m % 40) WHERE t.id > 0) ||
	             CASE WHEN t.id % 10007 = 0 THEN ' zebracorn' ELSE '' END
	        FROM tickets t, generate_series(1, 3) m`)
	seed(`ANALYZE customers, tickets, messages`)
	b.Logf("seeded %d tickets, %d messages in %s", n, 3*n, time.Since(start).Round(time.Second))
	all := ticket.SearchScope{All: true}
	for _, c := range []struct {
		name, query string
		scope       ticket.SearchScope
	}{
		{"rare word", "zebracorn", all},
		{"common word", "w1", all},
		{"two words", "w40 w41", all},
		{"phrase", `"w3 w4"`, all},
		{"address fragment", "from:customer123@", all},
		{"number", fmt.Sprintf("%07d", n/2), all},
		{"word in a department", "w2500", ticket.SearchScope{Departments: []int64{f.help.ID}, AgentID: f.ken.ID}},
	} {
		b.Run(c.name, func(b *testing.B) {
			q, err := ticket.ParseSearch(c.query)
			if err != nil {
				b.Fatal(err)
			}
			var times []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := f.store.Search(ctx, c.scope, q, 20); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
