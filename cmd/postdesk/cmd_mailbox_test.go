package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withIMAPMailbox writes a copy of the example configuration with one more
// mailbox, billing, polled from the IMAP server at addr.
func withIMAPMailbox(t *testing.T, addr string) string {
	t.Helper()
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(addr)
	box := fmt.Sprintf(`  - name: billing
    address: billing@bank.example
    kind: imap
    department: Help Desk
    imap:
      host: %s
      port: %s
      tls: none
      username: billing@bank.example
      password_env: BILLING_IMAP_PASSWORD
      poll_interval: 1s

`, host, port)
	const anchor = "# Where postdesk listens."
	if !strings.Contains(string(example), anchor) {
		t.Fatalf("%s has no %q to insert a mailbox before", exampleConfig, anchor)
	}
	path := filepath.Join(t.TempDir(), "postdesk.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(example), anchor, box+anchor, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMailboxTest(t *testing.T) {
	world := newMailWorld(t, "billing@bank.example")
	env := exampleEnv("")
	env["POSTDESK_CONFIG"] = withIMAPMailbox(t, world.imapAt)
	_, relayPort, _ := net.SplitHostPort(world.relayAt)
	env["POSTDESK_RELAY_PORT"] = relayPort

	env["BILLING_IMAP_PASSWORD"] = mailPassword
	code, out, errs := runCLI(t, env, "mailbox", "test", "billing")
	if code != 0 || !strings.Contains(out, "logged in as billing@bank.example") ||
		!strings.Contains(out, "INBOX holds 0 messages") || !strings.Contains(out, "Result: works.") {
		t.Fatalf("a working mailbox: exit %d\n%s%s", code, out, errs)
	}

	env["BILLING_IMAP_PASSWORD"] = "not-the-pw-7Qx"
	code, out, errs = runCLI(t, env, "mailbox", "test", "billing")
	if code != 1 || !strings.Contains(out, "refused user billing@bank.example") ||
		!strings.Contains(out, "does NOT work (login failed)") || !strings.Contains(out, "$BILLING_IMAP_PASSWORD") {
		t.Fatalf("a wrong password: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, "not-the-pw-7Qx") {
		t.Fatalf("the output shows the password:\n%s%s", out, errs)
	}

	code, out, errs = runCLI(t, env, "mailbox", "test", "--relay")
	if code != 0 || !strings.Contains(out, "SMTP relay 127.0.0.1:"+relayPort) || !strings.Contains(out, "Result: works.") {
		t.Fatalf("the relay: exit %d\n%s%s", code, out, errs)
	}

	// --all checks the mailbox and the relay; the mailbox fails, so does the run.
	code, out, _ = runCLI(t, env, "mailbox", "test", "--all")
	if code != 1 || strings.Count(out, "Result:") != 2 {
		t.Fatalf("--all: exit %d\n%s", code, out)
	}

	env["POSTDESK_RELAY_PORT"] = fmt.Sprint(closedTCPPort(t))
	code, out, _ = runCLI(t, env, "mailbox", "test", "--relay")
	if code != 1 || !strings.Contains(out, "connection refused") {
		t.Fatalf("a relay that is down: exit %d\n%s", code, out)
	}

	code, _, errs = runCLI(t, env, "mailbox", "test", "support")
	if code != 1 || !strings.Contains(errs, "kind smtp") {
		t.Fatalf("an smtp mailbox: exit %d, %q", code, errs)
	}
	code, _, errs = runCLI(t, env, "mailbox", "test", "sales")
	if code != 1 || !strings.Contains(errs, "IMAP mailboxes: billing") {
		t.Fatalf("an unknown mailbox: exit %d, %q", code, errs)
	}
	if code, _, errs = runCLI(t, env, "mailbox", "test"); code != 2 || !strings.Contains(errs, "Usage: postdesk mailbox test") {
		t.Fatalf("no arguments: exit %d, %q", code, errs)
	}
}

func closedTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
