package poller

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/migrations/dbtest"
)

// hook runs functions around the first delivery.
type hook struct {
	d             Deliverer
	once          sync.Once
	before, after func()
}

func (h *hook) Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error) {
	first := false
	h.once.Do(func() { first = true })
	if first && h.before != nil {
		h.before()
	}
	res, err := h.d.Deliver(ctx, env, raw)
	if first && h.after != nil {
		h.after()
	}
	return res, err
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// dbAddr is the test server's host:port.
func dbAddr(t *testing.T) string {
	t.Helper()
	cfg := dbtest.Config(t)
	port, err := strconv.Atoi(cfg.Port)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(port))
}

func TestDatabaseOutage(t *testing.T) {
	t.Run("whole database", func(t *testing.T) {
		t.Parallel()
		outageScenario(t, startMem(t, memOptions{caps: capsRev2}), "INBOX", true)
	})
	t.Run("commits only", func(t *testing.T) {
		t.Parallel()
		outageScenario(t, startMem(t, memOptions{caps: capsRev2}), "INBOX", false)
	})
}

func TestCrashBetweenCommitAndFlag(t *testing.T) {
	t.Parallel()
	crashScenario(t, startMem(t, memOptions{caps: capsRev2}), "INBOX")
}
