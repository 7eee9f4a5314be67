package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSecretsOptional: with LoadOptions.SecretsOptional unset secrets are
// listed instead of refused; Load refuses them and tells them apart from
// problems of the file.
func TestSecretsOptional(t *testing.T) {
	text := compose(map[string]string{
		"mailboxes": "mailboxes:\n  - name: billing\n    address: billing@desk.example\n    kind: imap\n    department: Help Desk\n" +
			"    imap:\n      host: imap.desk.example\n      username: billing\n      password_env: BILLING_PW\n" +
			"  - name: sales\n    address: sales@desk.example\n    kind: imap\n    department: Help Desk\n" +
			"    imap:\n      host: imap.desk.example\n      username: sales\n      password_env: BILLING_PW\n",
		"relay": "relay:\n  host: smtp.desk.example\n  auth: plain\n  username: desk\n  password_env: RELAY_PW\n",
	})
	path := filepath.Join(t.TempDir(), "postdesk.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(text)
	noSecrets := env(map[string]string{"RELAY_PW": "relay-pass"})
	want := []string{"POSTDESK_REPLY_SECRET", "BILLING_PW"}

	cfg, err := LoadWith(path, noSecrets, LoadOptions{SecretsOptional: true})
	if err != nil {
		t.Fatalf("secrets optional: %v", err)
	}
	if !slices.Equal(cfg.MissingSecrets, want) {
		t.Errorf("MissingSecrets = %q, want %q", cfg.MissingSecrets, want)
	}
	if cfg.Tickets.ReplySecret != "" || cfg.Mailboxes[0].IMAP.Password != "" || cfg.Relay.Password.Reveal() != "relay-pass" {
		t.Error("secrets resolved wrongly")
	}
	if cfg.Tickets.ReplySecretEnv != "POSTDESK_REPLY_SECRET" || cfg.Mailboxes[1].IMAP.PasswordEnv != "BILLING_PW" {
		t.Error("the variable names are lost")
	}

	_, err = Load(path, noSecrets)
	ps := problems(t, nil, err)
	if len(ps) != 3 {
		t.Fatalf("Load: want 3 problems (one per unset secret key), got:\n%v", err)
	}
	if got := err.(*Errors).OnlyMissingSecrets(); !slices.Equal(got, want) {
		t.Errorf("OnlyMissingSecrets = %q, want %q", got, want)
	}
	full, err := Load(path, env(map[string]string{"RELAY_PW": "p", "BILLING_PW": "p", "POSTDESK_REPLY_SECRET": replySecret}))
	if err != nil || len(full.MissingSecrets) != 0 {
		t.Fatalf("Load with every secret: %v, missing %q", err, full.MissingSecrets)
	}

	// Any other problem: both loads report it, and the unset secrets are
	// not all that is wrong.
	write(strings.Replace(text, "  name: Test Desk\n", "  name: Test Desk\n  nmae: typo\n", 1))
	_, err = LoadWith(path, noSecrets, LoadOptions{SecretsOptional: true})
	if ps := problems(t, nil, err); len(ps) != 1 || ps[0].Path != "organisation.nmae" {
		t.Errorf("secrets optional, a typo: got\n%v", err)
	}
	_, err = Load(path, noSecrets)
	if ps := problems(t, nil, err); len(ps) != 4 || err.(*Errors).OnlyMissingSecrets() != nil {
		t.Errorf("Load, a typo and unset secrets: OnlyMissingSecrets %q, problems:\n%v", err.(*Errors).OnlyMissingSecrets(), err)
	}

	// A secret that is set but unusable is a problem either way.
	write(text)
	_, err = LoadWith(path, env(map[string]string{"POSTDESK_REPLY_SECRET": "short"}), LoadOptions{SecretsOptional: true})
	if ps := problems(t, nil, err); len(ps) != 1 || !strings.Contains(ps[0].Message, "POSTDESK_REPLY_SECRET is too short") {
		t.Errorf("secrets optional, a short secret: got\n%v", err)
	}
}
