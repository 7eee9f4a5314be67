package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// BenchmarkIntake measures how many mails per second one process and three
// processes on one database take in over SMTP, each mail a new ticket with
// its notices queued in the same transaction (mails/s), and how fast the
// notices then go out (settled-mails/s: until the queue is empty). Twelve
// clients send at once, spread over the processes.
//
//	go test -run '^$' -bench Intake -benchtime 2000x ./cmd/postdesk/e2e/
func BenchmarkIntake(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("processes=%d", n), func(b *testing.B) { benchIntake(b, n) })
	}
}

func benchIntake(b *testing.B, processes int) {
	relay := newRelay(b)
	url := dbtest.URL(b)
	cfg := writeConfig(b, config{})
	cl := &cluster{}
	for i := range processes {
		p := newProc(b, fmt.Sprintf("bench-%d", i+1), cfg, url, relay)
		p.start()
		cl.procs = append(cl.procs, p)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()

	var retries atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	deadline := time.Now().Add(10 * time.Minute)
	b.ResetTimer()
	began := time.Now()
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				from := fmt.Sprintf("bench%07d@user.test", i)
				id := fmt.Sprintf("bench-%07d@user.test", i)
				raw := newMail(from, "support@bank.example", "Benchmark request "+id, id, "Please help.")
				if err := cl.deliverRetrying(i, from, "support@bank.example", raw, &retries, deadline); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	intake := time.Since(began)
	for {
		var pending int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM outbound_mails WHERE state = 'pending'`).
			Scan(&pending); err != nil {
			b.Fatal(err)
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	settled := time.Since(began)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/intake.Seconds(), "mails/s")
	b.ReportMetric(float64(b.N)/settled.Seconds(), "settled-mails/s")
	b.ReportMetric(float64(retries.Load()), "retries")
	for _, p := range cl.procs {
		p.signal(sigterm)
		p.wait(30 * time.Second)
	}
}
