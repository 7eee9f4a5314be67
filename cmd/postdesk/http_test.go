package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// What a failing OAuth token helper and an IMAP server write when they
// fail: secret-looking text that only the log may show.
const (
	helperStderr  = "refresh_token=1//0gLEAK-helper-7f3k expired"
	serverRefusal = "backend imap-db7.corp.internal rejected hash 5f4dcc3b-LEAK-server"
	dsnPassword   = "pw-LEAK-dsn-9zz"
)

// The health endpoints say in words what failed, and show neither a token
// helper's output, nor an IMAP server's own answer, nor the database URL's
// password: anyone who reaches the port reads them. The log keeps the
// detail.
func TestHealthEndpointsLeakNothing(t *testing.T) {
	imapAt := refusingIMAP(t)
	host, port, _ := net.SplitHostPort(imapAt)
	boxes := fmt.Sprintf(`  - name: billing
    address: billing@bank.example
    kind: imap
    department: Help Desk
    imap:
      host: %[1]s
      port: %[2]s
      tls: none
      username: billing@bank.example
      password_env: BILLING_IMAP_PASSWORD
      poll_interval: 1s
  - name: cloud
    address: cloud@bank.example
    kind: imap
    department: Help Desk
    imap:
      host: %[1]s
      port: %[2]s
      tls: none
      username: cloud@bank.example
      auth: xoauth2
      oauth_token_command: "echo '%[3]s' >&2; exit 1"
      poll_interval: 1s

`, host, port, helperStderr)
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "# Where postdesk listens."
	if !strings.Contains(string(example), anchor) {
		t.Fatalf("%s has no %q to insert mailboxes before", exampleConfig, anchor)
	}
	cfg := filepath.Join(t.TempDir(), "postdesk.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(example), anchor, boxes+anchor, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The server trusts the test's connections: a password in the URL is
	// ignored by it, and must not show anywhere but here.
	u, _ := url.Parse(dbtest.URL(t))
	u.User = url.UserPassword(u.User.Username(), dsnPassword)
	env := exampleEnv(u.String())
	env["POSTDESK_CONFIG"], env["BILLING_IMAP_PASSWORD"] = cfg, "right-or-wrong"
	smtpAddr, httpAddr := freeAddr(t), freeAddr(t)
	_, relayPort, _ := net.SplitHostPort(startSink(t))
	env["POSTDESK_SMTP_LISTEN"], env["POSTDESK_HTTP_LISTEN"] = smtpAddr, httpAddr
	env["POSTDESK_RELAY_HOST"], env["POSTDESK_RELAY_PORT"] = "127.0.0.1", relayPort

	ctx, stop := context.WithCancel(context.Background())
	out := &syncBuffer{mu: make(chanMutex, 1)}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, out, out, func(k string) string { return env[k] }) }()
	t.Cleanup(func() {
		stop()
		<-done
		if t.Failed() {
			t.Logf("serve output:\n%s", out.String())
		}
	})

	var ready readyDetail
	var body string
	eventually(t, done, "/readyz shows both mailboxes failing", func() bool {
		code, b := get(httpAddr + "/readyz")
		body = b
		if code != http.StatusOK || json.Unmarshal([]byte(b), &ready) != nil {
			return false
		}
		failing := 0
		for _, m := range ready.Mailboxes {
			if m.LastError != "" {
				failing++
			}
		}
		return failing == 2 && strings.Contains(out.String(), helperStderr) &&
			strings.Contains(out.String(), "LEAK-server")
	})
	words := map[string]string{}
	for _, m := range ready.Mailboxes {
		words[m.Name] = m.LastError
	}
	if got, want := words["cloud"], "OAuth token helper failed (exit status 1)"; !strings.Contains(got, want) {
		t.Errorf("cloud's last_error = %q, want it to say %q", got, want)
	}
	if got := words["billing"]; !strings.Contains(got, "login refused by the IMAP server") {
		t.Errorf("billing's last_error = %q, want it to say the login was refused", got)
	}
	_, healthz := get(httpAddr + "/healthz")
	_, metrics := get(httpAddr + "/metrics")
	for path, b := range map[string]string{"/readyz": body, "/healthz": healthz, "/metrics": metrics} {
		for _, leak := range []string{"LEAK", "refresh_token", "imap-db7", dsnPassword, "user=", "right-or-wrong"} {
			if strings.Contains(b, leak) {
				t.Errorf("%s shows %q:\n%s", path, leak, b)
			}
		}
	}
	if !strings.Contains(metrics, `postdesk_mailbox_xoauth2_failures_total{mailbox="cloud"}`) {
		t.Errorf("/metrics lacks the token failures:\n%s", metrics)
	}
}

// refusingIMAP serves an IMAP server that offers XOAUTH2 and refuses every
// login with a NO that carries text of its own.
func refusingIMAP(t *testing.T) string {
	t.Helper()
	mem := imapmemserver.New()
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return refusingSession{mem.NewSession()}, nil, nil
		},
		InsecureAuth: true,
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type refusingSession struct{ imapserver.Session }

func (refusingSession) Login(string, string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: serverRefusal}
}

func (refusingSession) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (refusingSession) Authenticate(string) (sasl.Server, error) {
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: serverRefusal}
}
