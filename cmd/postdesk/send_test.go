package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSink runs 'postdesk sink' on a free port until the test ends and
// returns its address.
func startSink(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{mu: make(chanMutex, 1)} // ready before the command writes and the test reads at once
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sink", "--listen", addr, "--dir", t.TempDir()}, out, out, func(string) string { return "" })
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Without --server, send goes to the configured listener: listen.smtp,
// reached on loopback when it listens on every interface.
func TestSendDefaultsToConfiguredListener(t *testing.T) {
	addr := startSink(t)
	_, port, _ := net.SplitHostPort(addr)
	for _, listen := range []string{addr, "0.0.0.0:" + port, ":" + port} {
		env := exampleEnv("")
		env["POSTDESK_SMTP_LISTEN"] = listen
		code, out, errs := runCLI(t, env, "send", "--from", "jane@user.com", "--to", "outage@bank.example", "--body", "hello")
		if code != 0 || !strings.Contains(out, "to 127.0.0.1:"+port+" for outage@bank.example") {
			t.Errorf("listen.smtp %s: exit %d %s%s", listen, code, out, errs)
		}
	}
	// No configuration: say where the address would have come from.
	missing := filepath.Join(t.TempDir(), "none.yaml")
	code, _, errs := runCLI(t, map[string]string{"POSTDESK_CONFIG": missing}, "send", "--from", "jane@user.com", "--to", "x@y.example", "--body", "x")
	if code != 1 || !strings.Contains(errs, "none.yaml") || !strings.Contains(errs, "--server") {
		t.Fatalf("send without a configuration: exit %d %q", code, errs)
	}
}
