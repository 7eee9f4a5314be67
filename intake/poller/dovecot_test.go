package poller

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// startDovecot runs a throwaway Dovecot through the shared bench scripts
// (Maildir, no TLS, user support / secret) on a free loopback port.
func startDovecot(t *testing.T) *testServer {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/dovecot"); err != nil {
		t.Skip("Dovecot is not installed (/usr/sbin/dovecot missing; apt-get install dovecot-imapd)")
	}
	bench := filepath.Join(sharedDir(t), "bench")
	if _, err := os.Stat(filepath.Join(bench, "dovecot-up.sh")); err != nil {
		t.Skipf("the shared bench scripts are missing (%v): CI puts shared/ beside the repository", err)
	}
	// Directly under the temp root: the script makes it traversable for the
	// mail processes, which t.TempDir's private parent would not be.
	dir, err := os.MkdirTemp("", "postdesk-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	port := closedPort(t)
	up := exec.Command(filepath.Join(bench, "dovecot-up.sh"), dir)
	up.Env = append(os.Environ(), "IMAP_PORT="+strconv.Itoa(port), "MAX_LIFETIME=600")
	out, err := up.CombinedOutput()
	t.Cleanup(func() {
		down := exec.Command(filepath.Join(bench, "dovecot-down.sh"), dir, "--purge")
		if out, err := down.CombinedOutput(); err != nil {
			t.Errorf("dovecot-down: %v\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatalf("dovecot-up: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
	return &testServer{host: "127.0.0.1", port: port, user: "support", pass: "secret"}
}

// Item 7: Dovecot as a third-party peer.
func TestDovecot(t *testing.T) {
	srv := startDovecot(t)
	t.Run("group", func(t *testing.T) {
		t.Run("backlog seen", func(t *testing.T) {
			t.Parallel()
			backlogScenario(t, srv, "Backlog", AfterSeen, true)
		})
		t.Run("backlog move", func(t *testing.T) {
			t.Parallel()
			backlogScenario(t, srv, "Moving", AfterMove, true)
		})
		t.Run("IDLE", func(t *testing.T) {
			t.Parallel()
			idleScenario(t, srv, "Idle")
		})
		t.Run("database outage", func(t *testing.T) {
			t.Parallel()
			outageScenario(t, srv, "Outage", false)
		})
		t.Run("crash between commit and flag", func(t *testing.T) {
			t.Parallel()
			crashScenario(t, srv, "Crash")
		})
		t.Run("UIDVALIDITY change", func(t *testing.T) {
			t.Parallel()
			uidValidityScenario(t, srv, "Recreated")
		})
	})
}
