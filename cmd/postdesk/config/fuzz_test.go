package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input panics, that every failure is a list of
// located problems, and that every success keeps the promises callers rely
// on (references resolve, lists that must not be empty are not).
func FuzzParse(f *testing.F) {
	for _, p := range []string{examplePath, "testdata/broken.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(compose(nil)))
	f.Add([]byte(fullConfig))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("mailboxes:\n  - imap: &x {<<: *x}\n"))
	dir := f.TempDir()
	e := env(map[string]string{"POSTDESK_REPLY_SECRET": replySecret, "PW": "pw"})

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse(data, "fuzz.yaml", filepath.Join(dir, "postdesk.yaml"), e)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.Problems) == 0 {
				t.Fatalf("failure without problems: %v", err)
			}
			for _, p := range errs.Problems {
				if p.Message == "" || p.File != "fuzz.yaml" {
					t.Fatalf("malformed problem %+v", p)
				}
			}
			return
		}
		if len(cfg.Departments) == 0 || len(cfg.Mailboxes) == 0 || cfg.Tickets.ReplySecret == "" {
			t.Fatalf("accepted config lacks a required part: %+v", cfg)
		}
		for _, m := range cfg.Mailboxes {
			if cfg.Department(m.Department) == nil || m.Priority == "" || (m.Kind == KindIMAP) != (m.IMAP != nil) {
				t.Fatalf("mailbox %+v is inconsistent", m)
			}
			if cfg.MailboxByAddress(m.Address) == nil {
				t.Fatalf("mailbox %q not found by its own address", m.Name)
			}
		}
		for _, a := range cfg.Agents {
			for _, d := range a.Departments {
				if cfg.Department(d) == nil {
					t.Fatalf("agent %q names unknown department %q", a.Name, d)
				}
			}
		}
	})
}
