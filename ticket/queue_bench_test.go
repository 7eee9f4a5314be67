package ticket_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// BenchmarkQueue seeds POSTDESK_BENCH_TICKETS tickets (100,000 unless set)
// with generate_series, about 5% open, 90% resolved over two years and 5%
// closed, 70% assigned, and reports the time of a queue page (first and
// fifth) per view and of all the counts, in ms/op.
//
//	POSTDESK_BENCH_TICKETS=1000000 go test -run '^$' -bench BenchmarkQueue -benchtime 200x ./ticket/
func BenchmarkQueue(b *testing.B) {
	n := 100_000
	if s := os.Getenv("POSTDESK_BENCH_TICKETS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("POSTDESK_BENCH_TICKETS: %v", err)
		}
	}
	f := newQueueFixture(b)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		b.Helper()
		if _, err := f.pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO customers (email) SELECT 'c' || i || '@user.example' FROM generate_series(1, 10000) i`)
	exec(`
		INSERT INTO tickets (number, subject, status, priority, department_id, assignee_id, customer_id,
		                     created_at, updated_at, resolved_at, closed_at)
		SELECT 'B' || i, 'subject ' || i, st,
		       (ARRAY['low', 'normal', 'normal', 'normal', 'high', 'emergency'])[1 + (i * 7) % 6],
		       d.ids[1 + i % cardinality(d.ids)],
		       CASE WHEN i % 10 < 7 THEN a.ids[1 + (i / 10) % cardinality(a.ids)] END,
		       (SELECT min(id) FROM customers) + i % 10000,
		       created, created,
		       CASE WHEN st = 'resolved' THEN created + interval '1 day' END,
		       CASE WHEN st = 'closed' THEN created + interval '2 days' END
		  FROM generate_series(1, $1::int) i,
		       (SELECT array_agg(id) ids FROM departments) d,
		       (SELECT array_agg(id) ids FROM agents) a,
		       LATERAL (SELECT CASE WHEN i % 20 = 0 THEN 'open' WHEN i % 20 = 1 THEN 'closed' ELSE 'resolved' END st,
		                       now() - (($1::int - i) * interval '2 years' / $1::int) created) x`, n)
	// The seed wrote tickets past the door: count them as the migration does.
	exec(`TRUNCATE queue_counts`)
	exec(`INSERT INTO queue_counts (department_id, assignee_id, status, day, n)
		SELECT department_id, coalesce(assignee_id, 0), status, 0, count(*) FROM tickets GROUP BY 1, 2, 3`)
	exec(`INSERT INTO queue_counts (department_id, assignee_id, status, day, n)
		SELECT department_id, coalesce(assignee_id, 0), status,
		       (resolved_at AT TIME ZONE 'UTC')::date - date '1970-01-01', count(*)
		  FROM tickets WHERE status = 'resolved' GROUP BY 1, 2, 3, 4`)
	exec(`VACUUM ANALYZE tickets`)
	exec(`ANALYZE queue_counts`)
	names := []string{"ken", "mary", "lee", "admin"}
	for i, who := range f.viewers {
		for _, v := range f.views(who) {
			name := string(v.Kind)
			if v.Kind == ticket.ViewDepartment {
				name += strconv.FormatInt(v.DepartmentID, 10)
			}
			for _, page := range []int{1, 5} {
				b.Run(fmt.Sprintf("%s/%s/page%d", names[i], name, page), func(b *testing.B) {
					// The cursor of the page before, as a click on "next" carries it.
					var c ticket.Cursor
					for range page - 1 {
						_, next, err := ticket.Queue(ctx, f.pool, who, v, ticket.Filter{}, c, 50)
						if err != nil {
							b.Fatal(err)
						}
						c = next
					}
					b.ResetTimer()
					for range b.N {
						if _, _, err := ticket.Queue(ctx, f.pool, who, v, ticket.Filter{}, c, 50); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
				})
			}
		}
		b.Run(names[i]+"/counts", func(b *testing.B) {
			for range b.N {
				if _, err := ticket.QueueCounts(ctx, f.pool, who); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
