package mailer_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/postdesk/postdesk/mailer"
)

// BenchmarkDeliver measures notices delivered per second from the queue to
// an SMTP sink on loopback, one connection per batch: each one queued as a
// draft, as a change queues it, so the figure includes rendering it. The sink is a go-smtp
// server in this process that counts and discards; set
// POSTDESK_BENCH_RELAY=host:port to use another one (e.g. Postfix's
// smtp-sink), which then must accept everything.
//
//	go test ./mailer -run '^$' -bench Deliver -benchtime 20000x
func BenchmarkDeliver(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchDeliver(b, workers, false) })
	}
	// Every notice signed with an RSA-2048 key at send time.
	b.Run("workers=2,dkim=rsa2048", func(b *testing.B) { benchDeliver(b, 2, true) })
}

func benchDeliver(b *testing.B, workers int, sign bool) {
	external := os.Getenv("POSTDESK_BENCH_RELAY")
	f := newFixture(b, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		if sign {
			key, err := mailer.ReadDKIMKey("testdata/dkim-test-rsa.pem")
			if err != nil {
				b.Fatal(err)
			}
			o.DKIM = &mailer.DKIM{Domain: "bank.example", Selector: "bench", Signer: key}
		}
		if external != "" {
			host, port, err := net.SplitHostPort(external)
			if err != nil {
				b.Fatal(err)
			}
			o.Relay.Host = host
			o.Relay.Port, _ = strconv.Atoi(port)
		}
	}, func(s *sink) { s.discard = true })
	f.open("jane-1@user.com") // one real acknowledgement, copied b.N times
	var id int64
	if err := f.pool.QueryRow(f.ctx, `SELECT id FROM outbound_mails`).Scan(&id); err != nil {
		b.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, `
		INSERT INTO outbound_mails (ticket_id, event_id, message_id, template, recipient, recipient_kind,
		                            mail_from, subject, automatic, rendered, draft)
		SELECT ticket_id, event_id, 'bench.' || g || '.' || message_id, template, recipient, recipient_kind,
		       mail_from, subject, false, rendered, draft
		  FROM outbound_mails, generate_series(2, $2::int) g WHERE id = $1`, id, b.N); err != nil {
		b.Fatal(err)
	}
	pending := func() int {
		var n int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM outbound_mails WHERE state = 'pending'`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	b.ResetTimer()
	start := time.Now()
	var stops []func()
	for i := 0; i < workers; i++ {
		stops = append(stops, runWorker(b, f.worker()))
	}
	for pending() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	for _, stop := range stops {
		stop()
	}
	if external == "" && f.sink.accepted() != b.N {
		b.Fatalf("sink accepted %d of %d", f.sink.accepted(), b.N)
	}
	// Each copy was queued as a draft and rendered by the worker that sent it.
	var size int
	if err := f.pool.QueryRow(f.ctx, `SELECT length(rendered) FROM outbound_mails WHERE id = $1`, id).Scan(&size); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "notices/s")
	b.ReportMetric(float64(size), "bytes/notice")
}
