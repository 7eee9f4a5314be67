package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/ticket"
)

// runWorker starts w.Run and returns a function that stops it and waits.
func runWorker(t testing.TB, w *mailer.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("worker: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("worker did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestRollbackSendsNothing(t *testing.T) {
	f := newFixture(t, nil, nil)
	tk := f.open("jane-1@user.com")
	f.deliver()
	before := len(f.sink.received())
	rows := len(f.rows())
	boom := errors.New("the agent's second command failed")
	err := f.change(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if _, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "never sent",
			Author: ticket.AgentActor(f.ken)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("change: %v", err)
	}
	// A notifier that fails rolls the change back too.
	err = f.change(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if err := tx.Transfer(f.ctx, tk, ticket.AgentActor(f.ken), f.sys.ID, nil); err != nil {
			return err
		}
		_, err := tx.DB().Exec(f.ctx, `SELECT 1/0`) // the transaction is now broken: Notify and commit fail
		return err
	})
	if err == nil {
		t.Fatal("a broken transaction committed")
	}
	stop := runWorker(t, f.worker())
	time.Sleep(300 * time.Millisecond) // several poll intervals
	stop()
	if got := len(f.rows()); got != rows {
		t.Errorf("%d notices queued by rolled-back changes", got-rows)
	}
	if got := len(f.sink.received()); got != before {
		t.Errorf("%d mails sent for rolled-back changes", got-before)
	}
}

func TestTemporaryFailureIsRetriedAndDeliveredOnce(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) { o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}} },
		func(s *sink) {
			s.answer = func(n int) error {
				if n < 2 {
					return tempFail()
				}
				return nil
			}
		})
	stop := runWorker(t, f.worker())
	f.open("jane-1@user.com")
	waitFor(t, "the notice to be delivered", 10*time.Second, func() bool { return f.sink.accepted() >= 1 })
	time.Sleep(200 * time.Millisecond) // room for a wrong second delivery
	stop()
	if got := f.sink.accepted(); got != 1 {
		t.Fatalf("relay accepted %d copies, want 1", got)
	}
	if got := f.sink.dataCommands(); got != 3 {
		t.Errorf("relay saw %d attempts, want 3 (451, 451, 250)", got)
	}
	r := f.rows()[0]
	if r.State != "sent" || r.Attempts != 3 || r.LastError != "" {
		t.Errorf("row after delivery: state %s attempts %d last error %q", r.State, r.Attempts, r.LastError)
	}
	if id := parse(t, f.sink.received()[0]).messageID(); id != r.MessageID {
		t.Errorf("sent Message-ID %s, stored %s", id, r.MessageID)
	}
	// Rendered once, when first claimed: the retries sent the same bytes.
	if !bytes.Equal(f.sink.received()[0].Data, r.Raw) {
		t.Error("the delivered mail differs from the one stored at the first attempt")
	}
}

func TestPermanentFailureIsRecordedOnTheTicket(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) { o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}} },
		func(s *sink) { s.answer = func(int) error { return permFail() } })
	tk := f.open("jane-1@user.com")
	f.deliver()
	f.deliver() // nothing is retried
	if got := f.sink.dataCommands(); got != 1 {
		t.Fatalf("relay saw %d attempts, want 1", got)
	}
	r := f.rows()[0]
	if r.State != "failed" || !strings.Contains(r.LastError, "550") {
		t.Fatalf("row: state %s last error %q", r.State, r.LastError)
	}
	h, err := f.store.History(f.ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ev *ticket.Event
	for _, e := range h {
		if e.Event != nil && e.Event.Action == ticket.ActionDeliveryFailed {
			ev = e.Event
		}
	}
	if ev == nil || ev.New != jane || !strings.Contains(ev.Detail, "550") || !strings.Contains(ev.Detail, "Mailbox does not exist") {
		t.Fatalf("delivery_failed event: %+v", ev)
	}
	show := f.show(tk)
	if !strings.Contains(show, "delivery failed: jane@user.com") || !strings.Contains(show, "(failed)") {
		t.Errorf("ticket show does not tell:\n%s", show)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.Queue.MaxAttempts = 3
		o.Queue.RetryBase, o.Queue.RetryMax = time.Millisecond, time.Millisecond
	}, func(s *sink) { s.answer = func(int) error { return tempFail() } })
	tk := f.open("jane-1@user.com")
	for i := 0; i < 5; i++ {
		f.deliver()
		time.Sleep(5 * time.Millisecond)
	}
	r := f.rows()[0]
	if r.State != "failed" || r.Attempts != 3 || !strings.Contains(r.LastError, "gave up after 3 attempts: 451") {
		t.Fatalf("row: state %s attempts %d error %q", r.State, r.Attempts, r.LastError)
	}
	if !strings.Contains(f.show(tk), "delivery failed: jane@user.com") {
		t.Error("giving up is not recorded on the ticket")
	}
}

// TestRestartDeliversPendingOnce: the process stops after the change
// committed and before the notice went out, also in the middle of the SMTP
// session; the next process delivers it exactly once.
func TestRestartDeliversPendingOnce(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) { o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}} }, nil)

	// Stopped before delivery began: the change committed, no worker ran.
	f.open("jane-1@user.com")
	if got := f.rows(); len(got) != 1 || got[0].State != "pending" {
		t.Fatalf("after commit: %+v", got)
	}
	stop := runWorker(t, f.worker())
	waitFor(t, "delivery by the restarted worker", 10*time.Second, func() bool { return f.sink.accepted() == 1 })
	stop()
	stop = runWorker(t, f.worker()) // and once more: nothing is sent again
	time.Sleep(200 * time.Millisecond)
	stop()
	if got := f.sink.accepted(); got != 1 {
		t.Fatalf("relay accepted %d copies, want 1", got)
	}

	// Stopped in the middle of the SMTP session.
	f.sink.mu.Lock()
	f.sink.holdRcpt, f.sink.held = make(chan struct{}), make(chan struct{})
	hold, held := f.sink.holdRcpt, f.sink.held
	f.sink.mu.Unlock()
	f.open("jane-2@user.com")
	stop = runWorker(t, f.worker())
	<-held
	stop() // the process stops while the relay has the mail half-way
	close(hold)
	rows := f.rows()
	if r := rows[1]; r.State != "pending" || r.Attempts != 0 {
		t.Fatalf("interrupted notice: state %s attempts %d, want pending and no attempt counted", r.State, r.Attempts)
	}
	stop = runWorker(t, f.worker())
	waitFor(t, "delivery after the second restart", 10*time.Second, func() bool { return f.sink.accepted() == 2 })
	time.Sleep(200 * time.Millisecond)
	stop()
	if got := f.sink.accepted(); got != 2 {
		t.Fatalf("relay accepted %d mails, want 2", got)
	}
	ids := map[string]int{}
	for _, m := range f.sink.received() {
		ids[parse(t, m).messageID()]++
	}
	for _, r := range f.rows() {
		if r.State != "sent" || ids[r.MessageID] != 1 {
			t.Errorf("notice %s: state %s, received %d times", r.MessageID, r.State, ids[r.MessageID])
		}
	}
}

// TestTwoWorkersShareTheQueue: each notice is delivered by exactly one of
// two workers running at once.
func TestTwoWorkersShareTheQueue(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) {
		o.Queue.BatchSize = 7
		o.AutoReplyLimit = -1 // thirty acknowledgements to Jane are this test's point
	}, nil)
	const tickets = 30 // three notices each: ack, Ken, helpdesk@
	for i := 0; i < tickets; i++ {
		f.open("")
	}
	a, b := runWorker(t, f.worker()), runWorker(t, f.worker())
	waitFor(t, "every notice", 20*time.Second, func() bool { return f.sink.accepted() >= 3*tickets })
	time.Sleep(200 * time.Millisecond)
	a()
	b()
	counts := map[string]int{}
	for _, m := range f.sink.received() {
		counts[parse(t, m).messageID()]++
	}
	rows := f.rows()
	if len(rows) != 3*tickets || len(f.sink.received()) != 3*tickets {
		t.Fatalf("%d rows, %d mails received, want %d each", len(rows), len(f.sink.received()), 3*tickets)
	}
	for _, r := range rows {
		if r.State != "sent" || counts[r.MessageID] != 1 {
			t.Errorf("notice %s: state %s, received %d times", r.MessageID, r.State, counts[r.MessageID])
		}
	}
}

func TestRelayUnavailable(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	f := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.Relay.Port = port
	}, nil)
	f.open("jane-1@user.com")
	f.deliver()
	r := f.rows()[0]
	if r.State != "pending" || r.Attempts != 1 || !strings.Contains(r.LastError, "refused") {
		t.Fatalf("row: state %s attempts %d error %q", r.State, r.Attempts, r.LastError)
	}

	// TLS mandatory against a relay without STARTTLS: nothing goes out in
	// clear text, and the notice waits.
	f2 := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.Relay.TLS = "mandatory"
	}, nil)
	f2.open("jane-1@user.com")
	f2.deliver()
	r = f2.rows()[0]
	if r.State != "pending" || !strings.Contains(r.LastError, "STARTTLS") || f2.sink.dataCommands() != 0 {
		t.Fatalf("row: state %s error %q, %d DATA", r.State, r.LastError, f2.sink.dataCommands())
	}

	// Opportunistic TLS sends in clear text when the relay offers nothing.
	f3 := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.Relay.TLS = "opportunistic"
	}, nil)
	f3.open("jane-1@user.com")
	f3.deliver()
	if r := f3.rows()[0]; r.State != "sent" || f3.sink.accepted() != 1 {
		t.Fatalf("opportunistic: state %s, accepted %d", r.State, f3.sink.accepted())
	}
}

func TestRelayAuth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		relay   func(*mailer.Relay)
		sink    func(*sink)
		login   string
		deliver bool
	}{
		{"plain", func(r *mailer.Relay) { r.Auth, r.Username, r.Password = "plain", "postdesk", "s3cret" },
			func(s *sink) { s.users = map[string]string{"postdesk": "s3cret"} }, "plain:postdesk", true},
		{"plain, wrong password", func(r *mailer.Relay) { r.Auth, r.Username, r.Password = "plain", "postdesk", "wrong" },
			func(s *sink) { s.users = map[string]string{"postdesk": "s3cret"} }, "", false},
		{"xoauth2", func(r *mailer.Relay) {
			r.Auth, r.Username, r.TokenCommand = "xoauth2", "support@bank.example", "printf '%s\\n' ya29.token"
		}, func(s *sink) { s.tokens = map[string]bool{"ya29.token": true} }, "xoauth2:support@bank.example:ya29.token", true},
		{"xoauth2, failing command", func(r *mailer.Relay) {
			r.Auth, r.Username, r.TokenCommand = "xoauth2", "support@bank.example", "echo ya29.secret >&2; exit 3"
		}, func(s *sink) { s.tokens = map[string]bool{"ya29.token": true} }, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *mailer.Options) {
				o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
				tc.relay(&o.Relay)
			}, tc.sink)
			f.open("jane-1@user.com")
			f.deliver()
			r := f.rows()[0]
			if tc.deliver {
				if r.State != "sent" || len(f.sink.logins) != 1 || f.sink.logins[0] != tc.login {
					t.Fatalf("state %s, logins %v", r.State, f.sink.logins)
				}
				return
			}
			if r.State != "pending" || r.LastError == "" || f.sink.accepted() != 0 {
				t.Fatalf("state %s error %q accepted %d", r.State, r.LastError, f.sink.accepted())
			}
			for _, secret := range []string{"wrong", "s3cret", "ya29"} {
				if strings.Contains(r.LastError, secret) {
					t.Errorf("the recorded error leaks a secret: %q", r.LastError)
				}
			}
		})
	}
}

// TestRefusedRecipientInABatch: one recipient refused at RCPT fails alone;
// the others of the batch go out over the same connection.
func TestRefusedRecipientInABatch(t *testing.T) {
	f := newFixture(t, nil, func(s *sink) {
		s.refuseRcpt = map[string]error{jane: permFail(), "helpdesk@bank.example": tempFail()}
	})
	tk := f.open("jane-1@user.com")
	f.deliver()
	states := map[string]row{}
	for _, r := range f.rows() {
		states[r.Recipient] = r
	}
	if r := states[jane]; r.State != "failed" || !strings.HasPrefix(r.LastError, "550") {
		t.Errorf("refused recipient: %s %q", r.State, r.LastError)
	}
	if r := states["helpdesk@bank.example"]; r.State != "pending" || r.Attempts != 1 || !strings.HasPrefix(r.LastError, "451") {
		t.Errorf("deferred recipient: %s %d %q", r.State, r.Attempts, r.LastError)
	}
	if r := states["ken.jay@bank.example"]; r.State != "sent" {
		t.Errorf("accepted recipient: %s %q", r.State, r.LastError)
	}
	if got := byRecipient(t, f.sink.received()); len(got) != 1 || len(got["ken.jay@bank.example"]) != 1 {
		t.Errorf("received: %v", recipients(got))
	}
	if n := f.sink.sessionCount(); n != 1 {
		t.Errorf("%d SMTP sessions for one batch", n)
	}
	if !strings.Contains(f.show(tk), "delivery failed: jane@user.com") {
		t.Error("the refusal is not on the ticket")
	}
}

// TestEachNoticeMarkedWhenAccepted: a notice is recorded as sent as soon as
// the relay took it, not at the end of its batch, so that a crash in the
// middle of a batch can repeat at most the notice in flight.
func TestEachNoticeMarkedWhenAccepted(t *testing.T) {
	release := make(chan struct{})
	blocked := make(chan struct{})
	f := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.AutoReplyLimit = -1
	}, func(s *sink) {
		s.answer = func(n int) error {
			if n == 2 { // the third mail of the batch hangs at DATA
				close(blocked)
				<-release
			}
			return nil
		}
	})
	for range 5 {
		f.open("")
	}
	stop := runWorker(t, f.worker())
	<-blocked
	sent := 0
	for _, r := range f.rows() {
		if r.State == "sent" {
			sent++
		}
	}
	close(release)
	waitFor(t, "the rest of the batch", 10*time.Second, func() bool { return f.sink.accepted() == 5 })
	stop()
	if sent != 2 {
		t.Fatalf("while the third notice was in flight, %d were recorded as sent, want the 2 the relay had taken", sent)
	}
}
