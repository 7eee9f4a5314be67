package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestBrokenFileReportsEveryProblem(t *testing.T) {
	const file = "testdata/broken.yaml"
	cfg, err := Load(file, env(baseEnv()))
	ps := problems(t, cfg, err)

	want := []struct {
		line, col int
		path, msg string
	}{
		{5, 3, "organisation.colour", `unknown key "colour"`},
		{12, 5, "departments[0].emial", `unknown key "emial" (did you mean "email"?)`},
		{16, 12, "agents[0].email", `invalid email address "Ken Jay <ken.jay@bank.example>": write the bare address only`},
		{20, 19, "agents[1].departments[0]", `unknown department "Sysadmins"`},
		{22, 12, "agents[2].email", `duplicate agent email "MARY@bank.example"`},
		{28, 17, "help_topics[0].department", `unknown department "Helpdesk" (did you mean "Help Desk"?)`},
		{29, 15, "help_topics[0].priority", `invalid value "urgent": must be one of low, normal, high, emergency`},
		{34, 17, "mailboxes[0].department", `unknown department "Accounts"`},
		{38, 17, "mailboxes[1].help_topic", `unknown help topic "Billing"`},
		{41, 12, "mailboxes[1].imap.tls", "tls: none would send the IMAP password in clear text to imap.bank.example"},
		{43, 21, "mailboxes[1].imap.password_env", "missing secret: environment variable BILLING_IMAP_PASSWORD is not set"},
		{44, 22, "mailboxes[1].imap.poll_interval", `invalid duration "30 seconds"`},
		{55, 16, "filters[0].match.subject", `invalid regexp "invoice [0-9+": missing closing ]`},
		{61, 5, "ban[1]", `invalid email address "not an address"`},
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for i, w := range want {
		if i >= len(ps) {
			t.Errorf("missing problem %s: %s", w.path, w.msg)
			continue
		}
		p := ps[i]
		if p.File != file || p.Line != w.line || p.Column != w.col || p.Path != w.path || !strings.Contains(p.Message, w.msg) {
			t.Errorf("problem %d:\n got  %s\n want %s:%d:%d: %s: %s...", i, p, file, w.line, w.col, w.path, w.msg)
		}
		// Error() carries every problem, one per line, in the documented format.
		line := fmt.Sprintf("%s:%d:%d: %s: ", file, w.line, w.col, w.path)
		if !strings.Contains(err.Error(), "\n"+line) && !strings.HasPrefix(err.Error(), line) {
			t.Errorf("Error() lacks a line starting %q", line)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(ps) {
		t.Errorf("Error() has %d lines for %d problems", n, len(ps))
	}
}

func TestSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
	}{
		{"unclosed flow list", "organisation:\n  name: Test\n  message_id_domain: [desk.example\nrelay:\n  host: x\n", 3},
		{"colon in plain value", "organisation:\n  name: Test\n  message_id_domain: desk.example: 2\n", 3},
		{"bad indentation", "relay:\n  host: x\n port: 25\n", 3},
		{"unquoted @", "ban:\n  - spammer@example.com\n  - @spam.example\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadText(t, tc.text, baseEnv())
			ps := problems(t, cfg, err)
			if len(ps) != 1 {
				t.Fatalf("want one problem for a syntax error, got:\n%v", err)
			}
			if ps[0].Line != tc.line || !strings.HasPrefix(ps[0].Message, "YAML syntax error: ") {
				t.Errorf("got %s; want a YAML syntax error on line %d", ps[0], tc.line)
			}
		})
	}
}

func TestFileLevelProblems(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "the file is empty"},
		{"only comments", "# nothing here\n", "the file is empty"},
		{"two documents", compose(nil) + "---\nlog:\n  level: debug\n", "only one YAML document"},
		{"not a mapping", "- a\n- b\n", "expected a mapping, got a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadText(t, tc.text, baseEnv())
			ps := problems(t, cfg, err)
			if len(ps) != 1 || !strings.Contains(ps[0].Message, tc.want) {
				t.Errorf("got %v, want one problem containing %q", err, tc.want)
			}
		})
	}
}
