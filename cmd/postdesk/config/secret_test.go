package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretsNeverPrinted(t *testing.T) {
	secrets := map[string]string{
		"POSTDESK_REPLY_SECRET": "reply-secret-4f1c9a7e2b",
		"POSTDESK_DATABASE_URL": "postgres://desk:db-pass-77d1@localhost/desk",
		"BILLING_PW":            "imap-pass-19be0c",
		"RELAY_PW":              "relay-pass-a2c4e6",
	}
	text := compose(map[string]string{
		"mailboxes": "mailboxes:\n  - name: billing\n    address: billing@desk.example\n    kind: imap\n    department: Help Desk\n" +
			"    imap:\n      host: imap.desk.example\n      username: billing\n      password_env: BILLING_PW\n",
		"relay": "relay:\n  host: smtp.desk.example\n  auth: plain\n  username: desk\n  password_env: RELAY_PW\n",
	})
	cfg := mustLoad(t, text, secrets)
	if cfg.Mailboxes[0].IMAP.Password.Reveal() != secrets["BILLING_PW"] || cfg.Relay.Password.Reveal() != secrets["RELAY_PW"] ||
		string(cfg.Database.URL) != secrets["POSTDESK_DATABASE_URL"] || cfg.Database.URLMissing() {
		t.Fatal("secrets were not resolved from the environment")
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v\n", cfg, cfg, cfg)
	fmt.Fprintf(&out, "%v %+v %#v\n", *cfg, *cfg, *cfg)
	fmt.Fprintf(&out, "%v %+v %#v\n", *cfg.Mailboxes[0].IMAP, cfg.Relay, cfg.Tickets)
	s := cfg.Tickets.ReplySecret
	fmt.Fprintf(&out, "%s %q %x %X %d %10.3s %T\n", s, s, s, s, s, s, s)
	fmt.Fprintln(&out, s, cfg.Database)
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(j)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(y)
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		slog.New(h).Info("config", "cfg", cfg, "secret", s, "relay", cfg.Relay)
	}

	for name, v := range secrets {
		if strings.Contains(out.String(), v) {
			t.Errorf("the value of %s was printed", name)
		}
	}
	if !strings.Contains(out.String(), "******") {
		t.Error("redacted marker missing: was anything printed at all?")
	}
}

func TestSecretNeverInProblems(t *testing.T) {
	// Too short a reply secret is reported by length, not by value.
	cfg, err := loadText(t, compose(nil), map[string]string{"POSTDESK_REPLY_SECRET": "short-Zq9"})
	ps := problems(t, cfg, err)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "too short: 9 bytes") {
		t.Errorf("got %v, want a too-short problem", err)
	}
	if strings.Contains(err.Error(), "short-Zq9") {
		t.Error("the secret value appears in the problem")
	}

	// A secret pasted where a variable name belongs is not echoed back.
	text := compose(map[string]string{"tickets": "tickets:\n  reply_secret_env: hunter2-pasted!\n"})
	cfg, err = loadText(t, text, baseEnv())
	ps = problems(t, cfg, err)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "must name an environment variable") {
		t.Errorf("got %v, want an env-name problem", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("a pasted secret appears in the problem")
	}
}
