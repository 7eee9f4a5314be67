package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// env returns an environment lookup backed by a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// replySecret is long enough for tickets.reply_secret_env.
const replySecret = "0123456789abcdef0123"

func baseEnv() map[string]string {
	return map[string]string{"POSTDESK_REPLY_SECRET": replySecret}
}

// baseSections is a small valid configuration, one YAML text per section,
// so that a test can replace exactly the section it is about.
func baseSections() map[string]string {
	return map[string]string{
		"organisation": "organisation:\n  name: Test Desk\n  message_id_domain: desk.example\n",
		"tickets":      "tickets:\n  reply_secret_env: POSTDESK_REPLY_SECRET\n",
		"departments":  "departments:\n  - name: Help Desk\n",
		"agents":       "agents:\n  - name: Ken Jay\n    email: ken@desk.example\n    departments: [Help Desk]\n",
		"mailboxes":    "mailboxes:\n  - name: support\n    address: support@desk.example\n    department: Help Desk\n",
		"listen":       "listen:\n  smtp: 127.0.0.1:2525\n",
		"relay":        "relay:\n  host: 127.0.0.1\n  port: 1025\n  tls: none\n",
	}
}

var sectionOrder = []string{"organisation", "database", "tickets", "departments", "agents", "help_topics",
	"mailboxes", "listen", "relay", "templates", "filters", "ban", "agent_mail", "log", "web"}

// compose builds a file from the base sections with some replaced; an
// empty replacement removes the section.
func compose(replace map[string]string) string {
	sec := baseSections()
	for k, v := range replace {
		sec[k] = v
	}
	var b strings.Builder
	for _, k := range sectionOrder {
		b.WriteString(sec[k])
	}
	return b.String()
}

// loadText writes text to postdesk.yaml in a fresh directory and loads it.
func loadText(t *testing.T, text string, e map[string]string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "postdesk.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, env(e))
}

// problems returns the problems of a failed Load, failing the test when
// Load did not fail with *Errors.
func problems(t *testing.T, cfg *Config, err error) []Problem {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load: want *Errors, got config=%v err=%v", cfg != nil, err)
	}
	if cfg != nil {
		t.Errorf("Load returned a config together with problems")
	}
	return errs.Problems
}

// mustLoad fails the test when text has any problem.
func mustLoad(t *testing.T, text string, e map[string]string) *Config {
	t.Helper()
	cfg, err := loadText(t, text, e)
	if err != nil {
		t.Fatalf("Load: %v\n--- file ---\n%s", err, text)
	}
	return cfg
}
