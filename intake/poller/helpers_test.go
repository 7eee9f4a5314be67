package poller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

// fastTiming keeps the tests short; the defaults are minutes.
func fastTiming() timing {
	return timing{standbyRetry: 150 * time.Millisecond, lockCheck: 150 * time.Millisecond,
		backoffMin: 100 * time.Millisecond, backoffMax: 800 * time.Millisecond,
		idleRestart: 25 * time.Minute, finish: 30 * time.Second}
}

// imapBoxes are the IMAP mailboxes every test database has besides the
// scenario's own.
var imapBoxes = []ticket.MailboxSpec{
	{Name: "imap-help", Address: "help@bank.example", DisplayName: "Bank Help", Kind: "imap", Department: "Help Desk"},
	{Name: "imap-other", Address: "other@bank.example", DisplayName: "Bank Other", Kind: "imap", Department: "Help Desk"},
	{Name: "imap-third", Address: "third@bank.example", DisplayName: "Bank Third", Kind: "imap", Department: "Help Desk"},
}

// testDB is a fresh database with the scenario's organisation and the IMAP
// mailboxes.
type testDB struct {
	url  string
	pool *pgxpool.Pool // direct, for assertions
	ids  map[string]int64
}

func newTestDB(t *testing.T) *testDB {
	t.Helper()
	ctx := context.Background()
	url := dbtest.URL(t)
	pool := openPool(t, url, "")
	store := ticket.NewStore(pool, ticket.DefaultNumbering(), nil)
	org := tickettest.ScenarioOrg()
	org.Mailboxes = append(org.Mailboxes, imapBoxes...)
	if err := store.SyncOrg(ctx, org); err != nil {
		t.Fatalf("sync org: %v", err)
	}
	db := &testDB{url: url, pool: pool, ids: map[string]int64{}}
	for _, b := range imapBoxes {
		m, err := ticket.FindMailbox(ctx, pool, b.Name)
		if err != nil {
			t.Fatalf("find mailbox: %v", err)
		}
		db.ids[b.Name] = m.ID
	}
	return db
}

// openPool opens a pool on url, through the proxy at via when not empty.
func openPool(t *testing.T, url, via string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	if via != "" {
		host, port, _ := net.SplitHostPort(via)
		cfg.ConnConfig.Host = host
		fmt.Sscan(port, &cfg.ConnConfig.Port)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// processor is the real intake.Processor over pool.
func processor(t *testing.T, pool *pgxpool.Pool, log *slog.Logger) *intake.Processor {
	t.Helper()
	store := ticket.NewStore(pool, ticket.DefaultNumbering(), nil)
	p, err := intake.NewProcessor(context.Background(), store, intake.Options{MessageIDDomain: "bank.example",
		ReplySecret: []byte("test-secret-0123456789"), Logger: log})
	if err != nil {
		t.Fatalf("processor: %v", err)
	}
	return p
}

// tickets counts the tickets opened from a mailbox.
func (db *testDB) tickets(t *testing.T, box string) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(context.Background(), `SELECT count(*) FROM tickets WHERE mailbox_id = $1`,
		db.ids[box]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// inbound counts the stored mails of a mailbox, and the distinct Message-IDs
// among them.
func (db *testDB) inbound(t *testing.T, box string) (rows, distinct int) {
	t.Helper()
	if err := db.pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT message_id)
		FROM inbound_mails WHERE mailbox_id = $1 AND transport = 'imap'`, db.ids[box]).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

// state is the poller state stored for a mailbox.
func (db *testDB) state(t *testing.T, box string) (validity, last uint32, polled bool) {
	t.Helper()
	var v, l int64
	if err := db.pool.QueryRow(context.Background(), `SELECT coalesce(imap_uidvalidity, 0), imap_last_uid,
		imap_polled_at IS NOT NULL FROM mailboxes WHERE id = $1`, db.ids[box]).Scan(&v, &l, &polled); err != nil {
		t.Fatal(err)
	}
	return uint32(v), uint32(l), polled
}

// setState stores a poller state, as an earlier run would have.
func (db *testDB) setState(t *testing.T, box string, validity, last uint32) {
	t.Helper()
	if _, err := db.pool.Exec(context.Background(), `UPDATE mailboxes SET imap_uidvalidity = $2, imap_last_uid = $3
		WHERE id = $1`, db.ids[box], int64(validity), int64(last)); err != nil {
		t.Fatal(err)
	}
}

// subjects lists the subjects of a mailbox's tickets.
func (db *testDB) subjects(t *testing.T, box string) []string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `SELECT subject FROM tickets WHERE mailbox_id = $1 ORDER BY id`,
		db.ids[box])
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

// mailNo is a customer mail with a unique Message-ID and a subject in
// RFC 2047, as mail clients write them.
func mailNo(tag string, i int) []byte {
	return []byte(fmt.Sprintf("From: Customer %[2]d <customer%[2]d@customer.example>\r\n"+
		"To: Bank Help <help@bank.example>\r\n"+
		"Subject: =?UTF-8?Q?Probl=C3=A8me_de_carte?= %[1]s-%[2]d\r\n"+
		"Date: Mon, 2 Mar 2026 10:%02[2]d:00 +0100\r\n"+
		"Message-ID: <%[1]s-%[2]d@customer.example>\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n"+
		"Content-Transfer-Encoding: 8bit\r\n"+
		"\r\n"+
		"Bonjour, ma carte n°%[2]d ne marche plus depuis ce matin.\r\n", tag, i))
}

func subjectNo(tag string, i int) string { return fmt.Sprintf("Problème de carte %s-%d", tag, i) }

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// logBuf collects a test's log, printed when the test fails. Goroutines may
// still log after the test has ended, so it does not write to t.Log.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLog(t *testing.T) (*slog.Logger, *logBuf) {
	t.Helper()
	b := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// running is a started Poller.
type running struct {
	p      *Poller
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs a poller until stop or the end of the test.
func start(t *testing.T, pool *pgxpool.Pool, d Deliverer, log *slog.Logger, boxes ...Mailbox) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	return startCtx(t, ctx, cancel, pool, d, log, boxes...)
}

// startCtx is start with the poller's context made by the test.
func startCtx(t *testing.T, ctx context.Context, cancel context.CancelFunc, pool *pgxpool.Pool, d Deliverer,
	log *slog.Logger, boxes ...Mailbox) *running {
	t.Helper()
	return startWith(t, ctx, cancel, nil, pool, d, log, boxes...)
}

// startWith is startCtx with the new Poller, its pauses already shortened,
// given to set before it runs.
func startWith(t *testing.T, ctx context.Context, cancel context.CancelFunc, set func(*Poller), pool *pgxpool.Pool,
	d Deliverer, log *slog.Logger, boxes ...Mailbox) *running {
	t.Helper()
	p, err := New(pool, d, boxes, log)
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	p.t = fastTiming()
	if set != nil {
		set(p)
	}
	r := &running{p: p, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = p.Run(ctx)
	}()
	t.Cleanup(r.stop)
	return r
}

// stop cancels the poller and waits until Run has returned.
func (r *running) stop() {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(40 * time.Second):
		panic("poller did not stop within 40 s")
	}
}

func (r *running) status(name string) MailboxStatus {
	for _, s := range r.p.Status() {
		if s.Name == name {
			return s
		}
	}
	return MailboxStatus{}
}

// counting wraps a Deliverer and counts calls, failures and duplicates.
type counting struct {
	d Deliverer

	mu                      sync.Mutex
	calls, fails, duplicate int
}

func (c *counting) Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error) {
	res, err := c.d.Deliver(ctx, env, raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if err != nil {
		c.fails++
	} else if res.Duplicate {
		c.duplicate++
	}
	return res, err
}

func (c *counting) counts() (calls, fails, duplicate int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.fails, c.duplicate
}

// proxy is a TCP proxy the test can cut, to make a server unreachable for
// real: open connections are dropped and new ones closed at once.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
	})
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(up) {
		c.Close()
		return
	}
	go func() {
		_, _ = io.Copy(up, c)
		up.Close()
	}()
	_, _ = io.Copy(c, up)
	c.Close()
}

// track registers an upstream connection unless the proxy was cut meanwhile.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// Cut drops every connection and refuses new ones until Restore.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore lets connections through again.
func (p *proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// sharedDir is <repo root>/../shared, where CI puts the shared tools.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}
