package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

// deferringRelay answers every mail 451: each attempt is a temporary failure.
type deferringRelay struct{}

func (deferringRelay) NewSession(*smtp.Conn) (smtp.Session, error) { return deferringSession{}, nil }

type deferringSession struct{}

func (deferringSession) Mail(string, *smtp.MailOptions) error { return nil }
func (deferringSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (deferringSession) Reset()                               {}
func (deferringSession) Logout() error                        { return nil }
func (deferringSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
}

// TestRelayRetryReachesTheWorker: relay.retry in the configuration file is
// the schedule the delivery worker stores: the example with other values,
// a relay that defers every mail, and the attempts and next attempt times
// of the acknowledgement after each round (made due by moving its next
// attempt, not by waiting).
func TestRelayRetryReachesTheWorker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(deferringRelay{})
	srv.Domain = "relay.test"
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })

	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	text := string(example)
	for old, new := range map[string]string{"first: 1m ": "first: 2h ", "factor: 2 ": "factor: 1.5 ",
		"max_delay: 1h ": "max_delay: 4h ", "max_attempts: 25 ": "max_attempts: 3 "} {
		if !strings.Contains(text, "    "+old) {
			t.Fatalf("examples/postdesk.yaml has no relay.retry line %q", old)
		}
		text = strings.Replace(text, "    "+old, "    "+new, 1)
	}
	path := filepath.Join(t.TempDir(), "postdesk.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	url := dbtest.URL(t)
	env := exampleEnv(url)
	env["POSTDESK_CONFIG"] = path
	env["POSTDESK_RELAY_PORT"] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	a := &app{getenv: func(k string) string { return env[k] }}
	ctx := context.Background()
	store, _, err := a.openWorkStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Pool().Close)
	if err := store.SyncOrg(ctx, orgOf(a.cfg)); err != nil {
		t.Fatal(err)
	}
	set, err := loadTemplates(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := mailerOptions(a.cfg, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := mailer.NewWorker(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	help, _ := ticket.FindDepartment(ctx, store.Pool(), "Help Desk")
	var id int64
	if err := store.InTx(ctx, func(tx *ticket.Tx) error {
		tk, _, err := tx.Open(ctx, ticket.NewTicket{Subject: "card blocked", Customer: ticket.Contact{Email: "jane@user.com"},
			DepartmentID: help.ID, Message: ticket.Message{Body: "my card was blocked abroad"}})
		if tk != nil {
			id = tk.ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	pool := store.Pool()
	const ack = `FROM outbound_mails WHERE ticket_id = $1 AND recipient = 'jane@user.com'`
	for i, want := range []time.Duration{2 * time.Hour, 3 * time.Hour} { // 2h, then 2h × 1.5
		if _, err := w.DeliverBatch(ctx); err != nil {
			t.Fatal(err)
		}
		var attempts int
		var wait float64
		if err := pool.QueryRow(ctx, `SELECT attempts, extract(epoch FROM next_attempt_at - clock_timestamp())::float8 `+ack,
			id).Scan(&attempts, &wait); err != nil {
			t.Fatal(err)
		}
		got := time.Duration(wait * float64(time.Second))
		if attempts != i+1 || got < want*9/10-time.Minute || got > want*11/10 {
			t.Errorf("after attempt %d: %d attempts stored, next in %s; want %d and %s ±10%%", i+1, attempts, got.Round(time.Second), i+1, want)
		}
		if _, err := pool.Exec(ctx, `UPDATE outbound_mails SET next_attempt_at = clock_timestamp() WHERE state = 'pending'`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.DeliverBatch(ctx); err != nil {
		t.Fatal(err)
	}
	var state, why string
	if err := pool.QueryRow(ctx, `SELECT state, last_error `+ack, id).Scan(&state, &why); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || !strings.HasPrefix(why, "gave up after 3 attempts: 451") {
		t.Errorf("after the third attempt (relay.retry.max_attempts 3): %s %q", state, why)
	}
}
