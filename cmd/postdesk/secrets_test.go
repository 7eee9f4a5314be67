package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// TestReadCommandsNeedNoSecrets: an admin who only looks (ticket list and
// show, mail list and show) needs the database URL but no secret; a command
// that changes a ticket or replays mail still needs POSTDESK_REPLY_SECRET
// and says so.
func TestReadCommandsNeedNoSecrets(t *testing.T) {
	url := dbtest.URL(t)
	number := buildScenario(t, url)
	jane := []byte("From: Jane Doe <jane@user.com>\r\nTo: outage@bank.example\r\nSubject: still down\r\n" +
		"Message-ID: <jane-9@user.com>\r\n\r\nstill a 404\r\n")
	ids, pool := arriveUnder(t, url, []string{"jane@user.com"}, jane)
	janeID := ids[0]
	opening := len(notices(t, pool, number))

	env := exampleEnv(url)
	delete(env, "POSTDESK_REPLY_SECRET")

	for _, c := range []struct {
		args []string
		want *regexp.Regexp
	}{
		{[]string{"ticket", "show", number}, regexp.MustCompile(`(?s)Ticket ` + number + `.*replied by Mary Major.*status open → resolved`)},
		{[]string{"ticket", "list"}, regexp.MustCompile(`(?m)^` + number + ` +resolved +emergency +System Administrators`)},
		{[]string{"mail", "list"}, regexp.MustCompile(fmt.Sprintf(`(?m)^%d .*still down +quarantined +- +sender jane@user.com is banned$`, janeID))},
		{[]string{"mail", "show", fmt.Sprint(janeID)}, regexp.MustCompile(`(?m)^Outcome: +quarantined$`)},
		{[]string{"migrate"}, regexp.MustCompile(`(?m)^database already at version \d+; nothing to do$`)},
	} {
		code, out, errs := runCLI(t, env, c.args...)
		if code != 0 || !c.want.MatchString(out) {
			t.Errorf("%v without POSTDESK_REPLY_SECRET: exit %d, want 0 and %s\n%s%s", c.args, code, c.want, out, errs)
		}
	}

	// Commands that queue signed notices, or replay mail into tickets, need
	// the secret: they name the variable, and change nothing.
	for _, args := range [][]string{
		{"ticket", "reply", number, "--as", "mary", "are you still affected?"},
		{"ticket", "status", number, "open"},
		{"mail", "replay", fmt.Sprint(janeID)},
	} {
		code, out, errs := runCLI(t, env, args...)
		if code != 1 || !strings.Contains(errs, "tickets.reply_secret_env: missing secret: environment variable POSTDESK_REPLY_SECRET is not set") ||
			!strings.Contains(errs, "postdesk: this command needs POSTDESK_REPLY_SECRET set in the environment") {
			t.Errorf("%v without POSTDESK_REPLY_SECRET: exit %d\n%s%s", args, code, out, errs)
		}
	}
	if n := len(notices(t, pool, number)); n != opening {
		t.Errorf("refused commands queued notices: %d, want %d", n, opening)
	}
	code, out, _ := runCLI(t, env, "ticket", "show", number)
	if code != 0 || strings.Contains(out, "are you still affected") || !strings.Contains(out, "Status:        resolved") {
		t.Errorf("a refused reply changed the ticket:\n%s", out)
	}
	code, out, _ = runCLI(t, env, "mail", "show", fmt.Sprint(janeID))
	if code != 0 || !strings.Contains(out, "Replayed:   never") {
		t.Errorf("a refused replay replayed:\n%s", out)
	}

	// config check still reports the missing secret: it is how admins find it.
	code, out, errs := runCLI(t, env, "config", "check")
	if code != 1 || !strings.Contains(errs, "missing secret: environment variable POSTDESK_REPLY_SECRET is not set") {
		t.Errorf("config check without the secret: exit %d\n%s%s", code, out, errs)
	}
}

// TestReadCommandsCheckEverythingElse: only an unset secret is forgiven;
// a secret that is set but unusable, or any other problem, still stops a
// read command.
func TestReadCommandsCheckEverythingElse(t *testing.T) {
	url := dbtest.URL(t)
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "postdesk.yaml")
	if err := os.WriteFile(broken, append(example, []byte("\nlog_level: debug\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	env := exampleEnv(url)
	delete(env, "POSTDESK_REPLY_SECRET")
	code, _, errs := runCLI(t, env, "ticket", "list", "--config", broken)
	if code != 1 || !strings.Contains(errs, `unknown key "log_level"`) || strings.Contains(errs, "POSTDESK_REPLY_SECRET") {
		t.Errorf("a broken file: exit %d\n%s", code, errs)
	}

	env["POSTDESK_REPLY_SECRET"] = "short"
	code, _, errs = runCLI(t, env, "mail", "list")
	if code != 1 || !strings.Contains(errs, "environment variable POSTDESK_REPLY_SECRET is too short") {
		t.Errorf("a short secret: exit %d\n%s", code, errs)
	}
}
