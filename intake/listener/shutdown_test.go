package listener_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/postdesk/postdesk/intake/intaketest"
)

// After the grace period, shutdown closes the sessions that linger and
// returns; a session that starts a new transaction meanwhile gets 421.
func TestShutdownClosesLingeringSessions(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	idle := r.Session("idle.example")
	busy := r.Session("busy.example")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		done <- r.Lis.Shutdown(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	if err := busy.Mail("jane@user.com", nil); smtpCode(err) != 421 {
		t.Fatalf("MAIL during shutdown: %v, want 421", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(time.Minute): // a generous deadline, not a figure
		t.Fatal("shutdown did not return after the grace period")
	}
	if err := idle.Noop(); err == nil {
		t.Fatal("a lingering session is still open after shutdown")
	}
	if _, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
		t.Fatal("the listener still accepts connections")
	}
}
