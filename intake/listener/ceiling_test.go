package listener_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"
)

// The two benchmarks here measure what bounds BenchmarkSMTPIngest on a
// machine, each part alone, so that its figure can be read against them:
//
//   - BenchmarkSMTPProtocolOnly: the same load generator and sessions
//     against a go-smtp server that reads each mail and throws it away (no
//     parsing, no database): what SMTP itself costs here.
//   - BenchmarkTicketWritesOnly: the rows one new ticket writes (customer,
//     ticket, message, opened event, acknowledgement and two agent alerts,
//     the stored mail), each mail in one statement, six mails per durable
//     commit, from concurrent connections: what PostgreSQL itself costs
//     here, with no SMTP, parsing or decisions.
//
// Both use the whole machine; the CPU time per mail they report adds up to
// a bound on the ingest rate: two cores can take in at most
// 2 s / (protocol + writes) mails per second.
//
//	go test ./intake/listener -run '^$' -bench 'ProtocolOnly|TicketWritesOnly' -benchtime 20000x

func BenchmarkSMTPProtocolOnly(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400)) // as under postdesk serve
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var taken atomic.Int64
	s := smtp.NewServer(discardBackend{n: &taken})
	s.Domain, s.ReadTimeout, s.WriteTimeout = "mx.bank.example", 30*time.Second, 30*time.Second
	s.MaxMessageBytes = 25 << 20
	go s.Serve(ln) //nolint:errcheck // returns when closed
	b.Cleanup(func() { s.Close() })

	const sessions = 20
	var next atomic.Int64
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	cpu0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = runSession(ln.Addr().String(), 2<<10, false, &next, int64(b.N))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := processCPU() - cpu0
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	if got := taken.Load(); got != int64(b.N) {
		b.Fatalf("server took %d of %d mails", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/mail")
	b.ReportMetric(0, "ns/op")
}

// discardBackend accepts every mail and throws it away.
type discardBackend struct{ n *atomic.Int64 }

func (d discardBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return discardSession(d), nil }

type discardSession discardBackend

func (discardSession) Mail(string, *smtp.MailOptions) error { return nil }
func (discardSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (discardSession) Reset()                               {}
func (discardSession) Logout() error                        { return nil }
func (s discardSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.n.Add(1)
	return nil
}

// ticketWrites is one new ticket as intake writes it, in one statement.
const ticketWrites = `
WITH c AS (
    INSERT INTO customers (email, name) VALUES ($1, 'Customer') RETURNING id
), t AS (
    INSERT INTO tickets (number, subject, priority, department_id, customer_id, mailbox_id)
    SELECT $2, 'card declined at checkout', 'normal', $3, c.id, $4 FROM c RETURNING id, customer_id
), i AS (
    SELECT nextval(pg_get_serial_sequence('inbound_mails', 'id')) AS id
), m AS (
    INSERT INTO messages (ticket_id, kind, author_customer_id, author_name, author_email, body, full_text,
                          message_id, inbound_mail_id)
    SELECT t.id, 'customer', t.customer_id, 'Customer', $1, $5, $6, $7, i.id FROM t, i
    RETURNING id, ticket_id, author_customer_id
), e AS (
    INSERT INTO ticket_events (ticket_id, actor_kind, actor_customer_id, actor_name, action, new_value, detail, message_id)
    SELECT m.ticket_id, 'customer', m.author_customer_id, 'Customer', 'opened', $2, 'card declined at checkout', m.id FROM m
    RETURNING id, ticket_id
), o AS (
    INSERT INTO outbound_mails (ticket_id, event_id, message_id, template, recipient, recipient_kind, mail_from,
                                subject, automatic, draft)
    SELECT e.ticket_id, e.id, v.k || '.' || $7, v.t, v.r, v.kind, 'support@bank.example',
           'Received: [#123456] card declined at checkout', true, $8::json
      FROM e, (VALUES ('ack', 'customer_ack', $1, 'customer'),
                      ('a1', 'agent_new_ticket', 'ken.jay@bank.example', 'agent'),
                      ('a2', 'agent_new_ticket', 'helpdesk@bank.example', 'department')) v(k, t, r, kind)
)
INSERT INTO inbound_mails (id, transport, mailbox_id, remote_addr, mail_from, rcpt_to, message_id, dedupe_key,
                           raw, size, outcome, ticket_id)
OVERRIDING SYSTEM VALUE
SELECT i.id, 'smtp', $4, '127.0.0.1:40000', $1, '{support@bank.example}', $7, $7, $9::bytea, length($9::bytea), 'new_ticket', t.id
  FROM i, t`

func BenchmarkTicketWritesOnly(b *testing.B) {
	for _, conns := range []int{2, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { benchTicketWrites(b, conns) })
	}
}

func benchTicketWrites(b *testing.B, conns int) {
	const perCommit = 6     // what group commit averages in BenchmarkSMTPIngest
	bs := newBenchServer(b) // a migrated database with the scenario organisation
	ctx := context.Background()
	var dept, box int64
	if err := bs.pool.QueryRow(ctx, `SELECT department_id, id FROM mailboxes WHERE department_id IS NOT NULL LIMIT 1`).
		Scan(&dept, &box); err != nil {
		b.Fatal(err)
	}
	// The texts are those of the ingest benchmark's mails and notices.
	raw := benchMail(0, "customer-0@user.com", 2<<10)
	body := string(raw[len(raw)-1900:])
	// A notice's draft is 700-900 bytes of JSON.
	draft := fmt.Sprintf(`{"template":"customer_ack","data":{"Ticket":{"Subject":%q}},"pad":%q}`,
		"card declined at checkout", strings.Repeat("x", 700))
	var next atomic.Int64
	errs := make([]error, conns)
	var wg sync.WaitGroup
	cpu0, pg0 := processCPU(), bs.backendCPU()
	b.ResetTimer()
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				first := next.Add(perCommit) - perCommit
				if first >= int64(b.N) {
					return
				}
				last := min(first+perCommit, int64(b.N))
				err := pgx.BeginFunc(ctx, bs.pool, func(tx pgx.Tx) error {
					batch := &pgx.Batch{}
					for n := first; n < last; n++ {
						id := fmt.Sprintf("floor-%d-%d@user.com", benchRun, n)
						batch.Queue(ticketWrites, fmt.Sprintf("c%d-%d@user.com", benchRun, n),
							fmt.Sprintf("%d", 100000000+n), dept, box, body[:len(body)-60], body, id, draft, raw)
					}
					return tx.SendBatch(ctx, batch).Close()
				})
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu, pg := processCPU()-cpu0, bs.backendCPU()-pg0
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	var tickets, notices int
	if err := bs.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM outbound_mails)`).
		Scan(&tickets, &notices); err != nil {
		b.Fatal(err)
	}
	if tickets != b.N || notices != 3*b.N {
		b.Fatalf("%d tickets and %d notices for %d mails", tickets, notices, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/mail") // this process: pgx
	if pg >= 0 {
		b.ReportMetric(float64(pg.Microseconds())/1000/float64(b.N), "pg-cpu-ms/mail")
	}
	b.ReportMetric(0, "ns/op")
}
