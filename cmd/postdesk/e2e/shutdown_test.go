package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// attempt is one mail a client tried to deliver and what it saw.
type attempt struct {
	id      string
	outcome outcome
	err     error
}

// attempts collects the clients' attempts.
type attempts struct {
	mu  sync.Mutex
	all []attempt
}

func (a *attempts) add(id string, err error) {
	a.mu.Lock()
	a.all = append(a.all, attempt{id: id, outcome: classify(err), err: err})
	a.mu.Unlock()
}

func (a *attempts) count(o outcome) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, x := range a.all {
		if x.outcome == o {
			n++
		}
	}
	return n
}

// TestSIGTERMMidStream stops a process with SIGTERM while twenty clients
// keep sending, one idle session holds the listener open and one client is
// in the middle of its DATA. Every mail answered 250 is stored with its
// ticket; every other one is not stored at all; nothing is half-written;
// the process exits 0 once the grace period is over.
func TestSIGTERMMidStream(t *testing.T) {
	t.Parallel()
	const grace = 4 * time.Second
	relay := newRelay(t)
	url := dbtest.URL(t)
	p := newProc(t, "serve", writeConfig(t, config{grace: grace.String()}), url, relay)
	p.start()

	var att attempts
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			streamClient(p.smtp, c, &att, stop)
		}()
	}
	// An idle session: it said EHLO and waits; only the end of the grace
	// period closes it.
	idleClosed := make(chan time.Time, 1)
	idle, err := net.Dial("tcp", p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	go func() {
		r := bufio.NewReader(idle)
		fmt.Fprintf(idle, "EHLO idle.user.test\r\n")
		for {
			if _, err := r.ReadString('\n'); err != nil {
				idleClosed <- time.Now()
				return
			}
		}
	}()
	// A client in the middle of its DATA when the grace period ends.
	slowID := "slow-1@user.test"
	slowDone := make(chan error, 1)
	go func() { slowDone <- slowData(p.smtp, slowID) }()

	eventually(t, 20*time.Second, "50 mails accepted before SIGTERM", func() bool { return att.count(accepted) >= 50 })
	p.signal(sigterm)
	sent := time.Now()
	// A generous deadline, not a figure: that the grace period, and not the
	// sessions, ends the process is shown by the idle and the slow session
	// below, both cut by the process.
	code, exited := p.wait(grace + time.Minute)
	close(stop)
	wg.Wait()
	took := exited.Sub(sent)
	t.Logf("exit %d after %s (grace %s); %d mails accepted, %d 4xx, %d 5xx, %d connection errors",
		code, took.Round(time.Millisecond), grace, att.count(accepted), att.count(tempFail), att.count(permFail),
		att.count(connError))
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	select {
	case at := <-idleClosed:
		// A lower bound only: a busy machine makes the close later, never
		// earlier, so load cannot fail this.
		if d := at.Sub(sent); d < grace-500*time.Millisecond {
			t.Errorf("the idle session was closed %s after SIGTERM, before the grace period ended", d)
		}
	case <-time.After(time.Minute):
		t.Error("the idle session was never closed")
	}
	if err := <-slowDone; err == nil {
		t.Error("the mail still being transferred at the end of the grace period was accepted")
	}
	att.add(slowID, fmt.Errorf("connection closed during DATA"))
	if att.count(tempFail)+att.count(connError) == 0 {
		t.Error("no client saw the shutdown: SIGTERM did not come mid-stream")
	}

	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	checkStrictRule(t, pool, att.all)
	checkNothingHalfWritten(t, pool)
}

// streamClient sends mail continuously, one to three mails per session,
// until stop is closed or the listener refuses connections.
func streamClient(addr string, client int, att *attempts, stop <-chan struct{}) {
	for n := 0; ; {
		select {
		case <-stop:
			return
		default:
		}
		c, err := dialSMTP(addr)
		if err != nil {
			var opErr *net.OpError
			if errorsAs(err, &opErr) && opErr.Op == "dial" {
				return // the listener is closed
			}
			continue // closed at once: try again
		}
		for k := 0; k <= client%3; k++ {
			n++
			from := fmt.Sprintf("c%02dn%04d@user.test", client, n)
			id := fmt.Sprintf("stream-%02d-%04d@user.test", client, n)
			err := transact(c, from, "support@bank.example", newMail(from, "support@bank.example",
				fmt.Sprintf("Request %d of client %d", n, client), id, "Please call me back."))
			att.add(id, err)
			if err != nil {
				break
			}
		}
		_ = c.Quit()
		c.Close()
	}
}

// slowData starts a mail's DATA and then sends a line every half second,
// unbuffered, until the connection breaks: the end of the grace period cuts
// it off. It returns nil only if the mail was accepted.
func slowData(addr, id string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	expect := func(code string) error {
		for {
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if len(line) < 4 || line[:3] != code {
				return fmt.Errorf("want %s, got %q", code, line)
			}
			if line[3] == ' ' {
				return nil
			}
		}
	}
	steps := []struct{ send, want string }{{"", "220"}, {"EHLO slow.user.test", "250"},
		{"MAIL FROM:<slow@user.test>", "250"}, {"RCPT TO:<support@bank.example>", "250"}, {"DATA", "354"}}
	for _, s := range steps {
		if s.send != "" {
			if _, err := fmt.Fprintf(conn, "%s\r\n", s.send); err != nil {
				return err
			}
		}
		if err := expect(s.want); err != nil {
			return err
		}
	}
	head := newMail("slow@user.test", "support@bank.example", "A long mail", id, "")
	if _, err := conn.Write([]byte(head)); err != nil {
		return err
	}
	for i := 0; i < 60; i++ {
		time.Sleep(500 * time.Millisecond)
		if _, err := fmt.Fprintf(conn, "line %d of a long mail\r\n", i); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(conn, ".\r\n"); err != nil {
		return err
	}
	return expect("250")
}

// checkStrictRule: a mail answered 250 is stored as a new ticket; a mail
// answered otherwise, or whose connection failed, is not stored at all.
func checkStrictRule(t *testing.T, pool *pgxpool.Pool, all []attempt) {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT message_id, outcome, ticket_id IS NOT NULL FROM inbound_mails`)
	if err != nil {
		t.Fatal(err)
	}
	type stored struct {
		outcome   string
		hasTicket bool
	}
	db := map[string]stored{}
	for rows.Next() {
		var id string
		var s stored
		if err := rows.Scan(&id, &s.outcome, &s.hasTicket); err != nil {
			t.Fatal(err)
		}
		db[id] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	tried := map[string]bool{}
	bad := 0
	for _, a := range all {
		tried[a.id] = true
		s, ok := db[a.id]
		switch {
		case a.outcome == accepted && (!ok || s.outcome != "new_ticket" || !s.hasTicket):
			t.Errorf("%s was answered 250 but is stored as %+v (stored: %v)", a.id, s, ok)
			bad++
		case a.outcome != accepted && ok:
			t.Errorf("%s got %s (%v) but is stored as %s", a.id, a.outcome, a.err, s.outcome)
			bad++
		}
		if bad > 10 {
			t.Fatal("too many violations")
		}
	}
	for id := range db {
		if !tried[id] {
			t.Errorf("stored mail %s was never sent", id)
		}
	}
}

// checkNothingHalfWritten: every stored mail has its final outcome; a new
// ticket has its message, its opened event and its acknowledgement; no
// ticket exists without the mail that opened it.
func checkNothingHalfWritten(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for _, q := range []struct{ what, sql string }{
		{"stored mails still being processed", `SELECT count(*) FROM inbound_mails WHERE reason = 'being processed'`},
		{"new-ticket mails without their ticket, message or opened event", `
			SELECT count(*) FROM inbound_mails i WHERE i.outcome = 'new_ticket' AND (i.ticket_id IS NULL
			    OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.inbound_mail_id = i.id AND m.ticket_id = i.ticket_id)
			    OR NOT EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = i.ticket_id AND e.action = 'opened'))`},
		{"tickets without the mail that opened them", `
			SELECT count(*) FROM tickets t WHERE NOT EXISTS
			    (SELECT 1 FROM inbound_mails i WHERE i.ticket_id = t.id AND i.outcome = 'new_ticket')`},
		{"tickets without exactly one acknowledgement queued", `
			SELECT count(*) FROM tickets t WHERE (SELECT count(*) FROM outbound_mails o
			    WHERE o.ticket_id = t.id AND o.template = 'customer_ack') <> 1`},
	} {
		var n int
		if err := pool.QueryRow(context.Background(), q.sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d %s", n, q.what)
		}
	}
}

// TestSIGTERMCommitOutlastsGrace: a commit still running when the grace
// period ends is finished and answered before its connection is closed, so
// the sender learns that its mail was taken.
func TestSIGTERMCommitOutlastsGrace(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	relay := newRelay(t)
	url := dbtest.URL(t)
	p := newProc(t, "serve", writeConfig(t, config{grace: grace.String()}), url, relay)
	p.start()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// Hold the commit: a lock that makes storing mail wait.
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `LOCK TABLE inbound_mails IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	id := "held-1@user.test"
	res := make(chan error, 1)
	go func() {
		res <- sendMail(p.smtp, "held@user.test", "support@bank.example",
			newMail("held@user.test", "support@bank.example", "Held up", id, "The database is slow today."))
	}()
	eventually(t, 10*time.Second, "the commit waits for the lock", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND query LIKE '%INSERT INTO inbound_mails%'`).Scan(&n)
		return n == 1
	})
	p.signal(sigterm)
	time.Sleep(grace + time.Second)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var clientErr error
	select {
	case clientErr = <-res:
	case <-time.After(20 * time.Second):
		t.Fatal("the client got no answer")
	}
	if code, _ := p.wait(20 * time.Second); code != 0 {
		t.Errorf("exit code %d", code)
	}
	t.Logf("the client whose commit outlasted the grace period saw: %v", clientErr)
	checkStrictRule(t, pool, []attempt{{id: id, outcome: classify(clientErr), err: clientErr}})
	checkNothingHalfWritten(t, pool)
}
