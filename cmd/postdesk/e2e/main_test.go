// Package e2e runs the real postdesk binary as separate processes against a
// fresh PostgreSQL database, a recording SMTP relay and in-memory IMAP
// servers, and checks from the outside what an operator relies on: the
// metrics, the health endpoints, shutdown on SIGTERM, and several replicas
// on one database handling every mail exactly once.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the postdesk executable built once by TestMain.
var binary string

// repoRoot is the directory of go.mod.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			repoRoot = dir
			break
		}
		if filepath.Dir(dir) == dir {
			fmt.Fprintln(os.Stderr, "e2e: no go.mod above", wd)
			return 1
		}
	}
	tmp, err := os.MkdirTemp("", "postdesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binary = filepath.Join(tmp, "postdesk")
	build := exec.Command("go", "build", "-o", binary, "./cmd/postdesk")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/postdesk: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// config describes the configuration file a test derives from the shipped
// example: the same file, with the listeners and the relay set through the
// environment as in docker-compose.yml, and optionally a shorter shutdown
// grace and an IMAP mailbox.
type config struct {
	grace string // listen.shutdown_grace; empty keeps the example's
	imap  *imapBox
	// relayTimeout is relay.timeout; empty keeps the example's. Notices a
	// killed process had claimed go out again after twice this.
	relayTimeout string
}

// imapBox is the mailbox "billing" polled from an IMAP server.
type imapBox struct {
	addr     string
	username string
}

const imapPasswordEnv = "BILLING_IMAP_PASSWORD"

// writeConfig writes the derived configuration into a temporary directory.
func writeConfig(t testing.TB, c config) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "examples", "postdesk.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if c.grace != "" {
		text = replaceOnce(t, text, "shutdown_grace: 30s", "shutdown_grace: "+c.grace)
	}
	if c.relayTimeout != "" {
		text = replaceOnce(t, text, "  timeout: 30s ", "  timeout: "+c.relayTimeout+" ")
	}
	if c.imap != nil {
		host, port, _ := net.SplitHostPort(c.imap.addr)
		box := fmt.Sprintf(`  - name: billing
    address: billing@bank.example
    kind: imap
    department: Help Desk
    imap:
      host: %s
      port: %s
      tls: none
      username: %s
      password_env: %s
      poll_interval: 1s

`, host, port, c.imap.username, imapPasswordEnv)
		const anchor = "# Where postdesk listens."
		text = replaceOnce(t, text, anchor, box+anchor)
	}
	path := filepath.Join(t.TempDir(), "postdesk.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func replaceOnce(t testing.TB, s, old, repl string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("examples/postdesk.yaml has no %q any more: update the e2e tests", old)
	}
	return strings.Replace(s, old, repl, 1)
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one `postdesk serve` process.
type proc struct {
	t          testing.TB
	name       string
	env        []string
	smtp, http string
	out        *syncBuffer

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	code int
	exit time.Time
}

// newProc prepares a process with its own SMTP and HTTP ports.
func newProc(t testing.TB, name, cfgPath, dbURL string, relay *recordingRelay, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, smtp: freeAddr(t), http: freeAddr(t), out: &syncBuffer{}}
	_, relayPort, _ := net.SplitHostPort(relay.addr)
	p.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"POSTDESK_CONFIG=" + cfgPath,
		"POSTDESK_DATABASE_URL=" + dbURL,
		"POSTDESK_REPLY_SECRET=e2e-test-secret-0123456789",
		"POSTDESK_SMTP_LISTEN=" + p.smtp,
		"POSTDESK_HTTP_LISTEN=" + p.http,
		"POSTDESK_RELAY_HOST=127.0.0.1",
		"POSTDESK_RELAY_PORT=" + relayPort,
	}, extra...)
	t.Cleanup(func() {
		if p.cmd != nil && !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s (last 6000 bytes):\n%s", p.name, tail(p.out.String(), 6000))
		}
	})
	return p
}

// start runs the process and waits until /readyz answers 200. The SMTP
// port is bound before the HTTP server starts, so it accepts by then; it is
// not probed, so that the SMTP session counters only count the test's mail.
func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(binary, "serve")
	p.cmd.Env = p.env
	fmt.Fprintf(p.out, "---- start %s\n", time.Now().Format(time.TimeOnly))
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() {
		err := p.cmd.Wait()
		p.exit = time.Now()
		p.code = p.cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _, err := httpGet(p.http, "/readyz"); err == nil && code == http.StatusOK {
			return
		}
		if p.exited() {
			p.t.Fatalf("%s exited with %d before it was ready:\n%s", p.name, p.code, tail(p.out.String(), 4000))
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready within 30 s:\n%s", p.name, tail(p.out.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

// wait waits for the process to exit and returns its exit code and when it
// exited; it fails the test after within.
func (p *proc) wait(within time.Duration) (int, time.Time) {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code, p.exit
	case <-time.After(within):
		p.t.Fatalf("%s did not exit within %s", p.name, within)
		return -1, time.Time{}
	}
}

// httpGet fetches a path from an HTTP listener.
func httpGet(addr, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const sigterm, sigkill = syscall.SIGTERM, syscall.SIGKILL
