package mailer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/postdesk/postdesk/mailer"
)

// TestRetryScheduleIsTheConfiguredOne: after each temporary failure the
// notice's next attempt is stored the configured wait away (first, times
// the factor per attempt, at most the longest wait, give or take the 10%
// jitter), and the configured last attempt gives up. The waits are hours,
// so the test's own run time is lost in the jitter; each round is made due
// by moving next_attempt_at, not by waiting.
func TestRetryScheduleIsTheConfiguredOne(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.Queue.RetryBase, o.Queue.RetryFactor, o.Queue.RetryMax, o.Queue.MaxAttempts = time.Hour, 3, 5*time.Hour, 4
	}, func(s *sink) { s.answer = func(int) error { return tempFail() } })
	f.open("jane-1@user.com")
	w := f.worker()
	for i, want := range []time.Duration{time.Hour, 3 * time.Hour, 5 * time.Hour} {
		if _, err := w.DeliverBatch(f.ctx); err != nil {
			t.Fatal(err)
		}
		var attempts int
		var wait float64
		if err := f.pool.QueryRow(f.ctx, `SELECT attempts, extract(epoch FROM next_attempt_at - clock_timestamp())
			FROM outbound_mails WHERE state = 'pending'`).Scan(&attempts, &wait); err != nil {
			t.Fatalf("after attempt %d: %v", i+1, err)
		}
		got := time.Duration(wait * float64(time.Second))
		if attempts != i+1 || got < want*9/10-time.Minute || got > want*11/10 {
			t.Errorf("after attempt %d: %d attempts stored, next in %s; want %d and %s ±10%%", i+1, attempts, got.Round(time.Second), i+1, want)
		}
		if _, err := f.pool.Exec(f.ctx, `UPDATE outbound_mails SET next_attempt_at = clock_timestamp()`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.DeliverBatch(f.ctx); err != nil {
		t.Fatal(err)
	}
	r := f.rows()[0]
	if r.State != "failed" || r.Attempts != 4 || !strings.HasPrefix(r.LastError, "gave up after 4 attempts: 451") {
		t.Errorf("after the 4th attempt: state %s, %d attempts, %q", r.State, r.Attempts, r.LastError)
	}
	if got := f.sink.dataCommands(); got != 4 {
		t.Errorf("relay saw %d attempts, want 4", got)
	}
}

func TestRetryFactorBelowOneIsRefused(t *testing.T) {
	opts := mailer.Options{Relay: mailer.Relay{Host: "127.0.0.1"}, Queue: mailer.Queue{RetryFactor: 0.5}}
	if _, err := mailer.NewWorker(nil, opts); err == nil || !strings.Contains(err.Error(), "retry factor 0.5") {
		t.Errorf("NewWorker with retry factor 0.5: %v", err)
	}
}
