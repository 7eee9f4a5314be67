package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

func TestSendAndSink(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sink", "--listen", addr, "--dir", dir}, out, out, func(string) string { return "" })
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink did not start: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, stdout, errs := runCLI(t, nil, "send", "--server", addr, "--from", "Jane Doe <jane@user.com>", "--to", "outage@bank.example",
		"--subject", "entire mobile online banking is down", "--body", `line one\nline two`)
	if code != 0 || !strings.Contains(stdout, "for outage@bank.example") {
		t.Fatalf("send: exit %d %s%s", code, stdout, errs)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("sink exit %d: %s", code, out.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "0001.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "Subject: entire mobile online banking is down\r\n") ||
		!strings.Contains(string(raw), "line one\r\nline two\r\n") || !strings.Contains(string(raw), "From: \"Jane Doe\" <jane@user.com>") {
		t.Fatalf("saved mail:\n%s", raw)
	}
	if !strings.Contains(out.String(), "to outage@bank.example: entire mobile online banking is down") {
		t.Fatalf("sink output: %s", out.String())
	}
	if code, _, errs := runCLI(t, nil, "send", "--server", addr, "--from", "jane@user.com", "--to", "x@y.example", "--body", "x"); code != 1 ||
		!strings.Contains(errs, "cannot reach") {
		t.Fatalf("send to a stopped server: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, nil, "send", "--to", "x@y.example"); code != 1 || !strings.Contains(errs, "needs --from and --to") {
		t.Fatalf("send without --from: exit %d %q", code, errs)
	}
}

func TestTemplateRender(t *testing.T) {
	url := dbtest.URL(t)
	number, _ := openTicket(t, url)
	env := exampleEnv(url)
	code, out, errs := runCLI(t, env, "template", "render", "customer_ack", "--ticket", number)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"To: ", "jane@user.com", "Subject: Re: [#" + number + "] entire mobile online banking is down",
		"Auto-Submitted: auto-replied", "##- Please type your reply above this line -##"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered ack lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := runCLI(t, env, "template", "render", "no_such_notice", "--ticket", number); code != 1 || errs == "" {
		t.Fatalf("unknown template: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, env, "template", "render", "customer_ack", "--ticket", "999999"); code != 1 || !strings.Contains(errs, "999999") {
		t.Fatalf("unknown ticket: exit %d %q", code, errs)
	}
}
