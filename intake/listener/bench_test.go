package listener_test

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/groupcommit"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

// BenchmarkSMTPIngest pushes b.N distinct mails, each opening a new ticket,
// from concurrent SMTP sessions through the real listener and Processor into
// a fresh database with durable commits (synchronous_commit on) and the real
// notifier queueing the acknowledgement and agent alerts. It reports mails/s
// and the accept latency (end of DATA to the 250 reply) at p50 and p99, and
// checks that every accepted mail was stored exactly once. It also reports
// the SQL round trips and the CPU time (this process, which includes the
// load generator, and the PostgreSQL backends) per mail: on a shared
// machine these move less than the rate.
//
//	go test ./intake/listener -run '^$' -bench SMTPIngest -benchtime 10000x
//
// Knobs: POSTDESK_BENCH_POOL sets the pool size (default: pgxpool's, as in
// production without database.max_conns); POSTDESK_BENCH_GROUP_MAILS and
// POSTDESK_BENCH_GROUPS set GroupCommit (1 mail per group: one transaction
// per mail). TestServeForSMTPSource serves Postfix's smtp-source instead.
func BenchmarkSMTPIngest(b *testing.B) {
	for _, c := range []struct {
		size     int
		sessions int
		reuse    bool
	}{
		{2 << 10, 20, false},
		{2 << 10, 20, true},
		{50 << 10, 20, false},
	} {
		conn := "new"
		if c.reuse {
			conn = "reuse"
		}
		name := fmt.Sprintf("size=%dKB/sessions=%d/conn=%s", c.size>>10, c.sessions, conn)
		b.Run(name, func(b *testing.B) { benchIngest(b, c.size, c.sessions, c.reuse) })
	}
}

func benchIngest(b *testing.B, size, sessions int, reuse bool) {
	// The garbage collector runs as under postdesk serve, which sets
	// GOGC=400 unless GOGC is set.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	bs := newBenchServer(b)
	var next atomic.Int64
	latencies := make([][]time.Duration, sessions)
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	trips0 := bs.trips.N()
	cpu0, pg0 := processCPU(), bs.backendCPU()
	b.ResetTimer()
	start := time.Now()
	for s := 0; s < sessions; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			latencies[s], errs[s] = runSession(bs.addr, size, reuse, &next, int64(b.N))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	trips := bs.trips.N() - trips0
	cpu, pg := processCPU()-cpu0, bs.backendCPU()-pg0
	var all []time.Duration
	for s := range sessions {
		if errs[s] != nil {
			b.Errorf("session %d: %v", s, errs[s])
		}
		all = append(all, latencies[s]...)
	}
	accepted := len(all)
	bs.verify(accepted)
	if accepted != b.N {
		b.Fatalf("%d of %d mails accepted", accepted, b.N)
	}
	slices.Sort(all)
	b.ReportMetric(float64(accepted)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(percentile(all, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(trips)/float64(accepted), "sql-trips/mail")
	// CPU per mail, which other load on the machine disturbs less than the
	// rate: this process (listener, processor and load generator) and the
	// PostgreSQL backends of the pool.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(accepted), "cpu-ms/mail")
	if pg >= 0 {
		b.ReportMetric(float64(pg.Microseconds())/1000/float64(accepted), "pg-cpu-ms/mail")
	}
	b.ReportMetric(0, "ns/op") // per-op time is meaningless across sessions
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// benchServer is the listener under test over its own database.
type benchServer struct {
	b     testing.TB
	pool  *pgxpool.Pool
	addr  string
	trips *dbtest.RoundTrips
}

func newBenchServer(b testing.TB) *benchServer {
	b.Helper()
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(dbtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	if n := envInt(b, "POSTDESK_BENCH_POOL"); n > 0 {
		pc.MaxConns = int32(n)
	}
	trips := &dbtest.RoundTrips{}
	if os.Getenv("TRACESQL") != "" {
		trips.Show = 40
	}
	pc.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	// Durable commits are the point: refuse to measure without them.
	for _, setting := range []string{"synchronous_commit", "fsync"} {
		var v string
		if err := pool.QueryRow(ctx, "SHOW "+setting).Scan(&v); err != nil {
			b.Fatal(err)
		}
		if v != "on" {
			b.Fatalf("%s is %s: the benchmark needs durable commits", setting, v)
		}
	}
	set, err := templates.Default()
	if err != nil {
		b.Fatal(err)
	}
	numbers := ticket.DefaultNumbering()
	notifier, err := mailer.NewNotifier(mailer.Options{
		OrgName: "Bank Example", MessageIDDomain: "bank.example", ReplySecret: intaketest.ReplySecret,
		Mailboxes:   map[string]string{"support@bank.example": "Bank Support", "outage@bank.example": "Bank Outage Desk"},
		DefaultFrom: "support@bank.example", Templates: set,
	}, numbers)
	if err != nil {
		b.Fatal(err)
	}
	org := tickettest.Sync(b, ticket.NewStore(pool, numbers, notifier))
	proc, err := intake.NewProcessor(ctx, org.Store, intake.Options{MessageIDDomain: "bank.example",
		ReplySecret: intaketest.ReplySecret, OwnAddresses: []string{"helpdesk@bank.example", "sysadmins@bank.example"},
		Logger: intaketest.QuietLogger(), GroupCommit: groupcommit.Options{MaxMembers: envInt(b, "POSTDESK_BENCH_GROUP_MAILS"),
			MaxGroups: envInt(b, "POSTDESK_BENCH_GROUPS")}})
	if err != nil {
		b.Fatal(err)
	}
	lis := listener.New(proc, listener.Config{Addr: "127.0.0.1:0", Hostname: "mx.bank.example",
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, Logger: intaketest.QuietLogger()})
	if err := lis.Listen(); err != nil {
		b.Fatal(err)
	}
	go lis.Serve() //nolint:errcheck // returns when closed
	b.Cleanup(func() { lis.Close() })
	return &benchServer{b: b, pool: pool, addr: lis.Addr().String(), trips: trips}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU is the CPU time the database's backends have used, read from
// /proc when PostgreSQL runs on this machine; -1 when it cannot be read.
func (bs *benchServer) backendCPU() time.Duration {
	rows, err := bs.pool.Query(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return -1
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return -1
	}
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		// Fields after the command name (which may hold spaces): utime and
		// stime are the 14th and 15th of the line.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			return -1
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// envInt reads a tuning knob of the benchmark; 0 when unset.
func envInt(b testing.TB, name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// verify checks that every accepted mail is stored once, as a new ticket
// with its notices queued.
func (bs *benchServer) verify(accepted int) {
	bs.b.Helper()
	var mails, distinct, opened, tickets, acks int
	err := bs.pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM inbound_mails),
		       (SELECT count(DISTINCT message_id) FROM inbound_mails),
		       (SELECT count(*) FROM inbound_mails WHERE outcome = 'new_ticket'),
		       (SELECT count(*) FROM tickets),
		       (SELECT count(*) FROM outbound_mails WHERE template = $1 AND state = 'pending')`,
		templates.CustomerAck).Scan(&mails, &distinct, &opened, &tickets, &acks)
	if err != nil {
		bs.b.Fatal(err)
	}
	if mails != accepted || distinct != accepted || opened != accepted || tickets != accepted || acks != accepted {
		bs.b.Fatalf("accepted %d; stored %d mails (%d distinct), %d new tickets by mail, %d tickets, %d acknowledgements",
			accepted, mails, distinct, opened, tickets, acks)
	}
}

// runSession sends mails numbered by next (up to total) over SMTP, a new
// connection per mail or one for all, and returns each mail's accept
// latency. It speaks the protocol by hand, like smtp-source, so that the
// load generator costs little of the CPU it shares with the server.
func runSession(addr string, size int, reuse bool, next *atomic.Int64, total int64) ([]time.Duration, error) {
	var out []time.Duration
	var c *smtpConn
	defer func() {
		if c != nil {
			c.quit()
		}
	}()
	for {
		n := next.Add(1)
		if n > total {
			return out, nil
		}
		if c == nil {
			var err error
			if c, err = dialSMTP(addr); err != nil {
				return out, err
			}
		}
		from := fmt.Sprintf("customer-%d@user.com", n)
		d, err := c.send(from, "support@bank.example", benchMail(n, from, size))
		if err != nil {
			return out, fmt.Errorf("mail %d: %w", n, err)
		}
		out = append(out, d)
		if !reuse {
			c.quit()
			c = nil
		}
	}
}

var benchRun = time.Now().UnixNano()

// benchMail is a plain-text mail of about size bytes from a new customer.
func benchMail(n int64, from string, size int) []byte {
	var sb strings.Builder
	fmt.Fprintf(&sb, "From: Customer %d <%s>\r\nTo: Bank Support <support@bank.example>\r\n"+
		"Subject: card %d declined at checkout\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\n"+
		"Message-ID: <bench-%d-%d@user.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello,\r\n\r\n", n, from, n, benchRun, n)
	line := "my card was declined when I tried to pay online, though the balance is fine. "
	for sb.Len() < size-40 {
		w := min(len(line), size-40-sb.Len())
		sb.WriteString(strings.TrimSpace(line[:w]))
		sb.WriteString("\r\n")
	}
	fmt.Fprintf(&sb, "\r\nThanks,\r\nCustomer %d\r\n", n)
	return []byte(sb.String())
}

// TestServeForSMTPSource keeps a benchmark listener open for an external
// load generator such as Postfix's smtp-source, for POSTDESK_BENCH_SERVE
// seconds, prints its address, and checks at the end that every mail the
// generator sent was stored once. It is skipped unless that variable is set.
//
//	POSTDESK_BENCH_SERVE=60 POSTDESK_BENCH_EXPECT=20000 go test ./intake/listener -run ServeForSMTPSource -v
func TestServeForSMTPSource(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("POSTDESK_BENCH_SERVE"))
	if secs <= 0 {
		t.Skip("set POSTDESK_BENCH_SERVE=seconds to serve an external load generator")
	}
	bs := newBenchServer(t)
	fmt.Printf("listening on %s\n", bs.addr)
	expect, _ := strconv.Atoi(os.Getenv("POSTDESK_BENCH_EXPECT"))
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var stored int
	for time.Now().Before(deadline) && (expect == 0 || stored < expect) {
		time.Sleep(200 * time.Millisecond)
		if err := bs.pool.QueryRow(context.Background(), `SELECT count(*) FROM inbound_mails`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
	}
	var distinct int
	if err := bs.pool.QueryRow(context.Background(), `SELECT count(DISTINCT message_id) FROM inbound_mails`).Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("stored %d mails, %d distinct\n", stored, distinct)
	if expect != 0 && (stored != expect || distinct != expect) {
		t.Fatalf("stored %d mails (%d distinct), want %d", stored, distinct, expect)
	}
}
