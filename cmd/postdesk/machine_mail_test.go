package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMachineMailSettingReachesIntake: a mailbox's machine_mail:
// quarantine reaches the intake options for that mailbox's address only;
// the example's default (ticket) quarantines nothing.
func TestMachineMailSettingReachesIntake(t *testing.T) {
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(example, []byte("    machine_mail: ticket")) {
		t.Fatal("the example no longer shows machine_mail")
	}
	for _, c := range []struct {
		value string
		want  map[string]bool
	}{
		{"ticket", nil},
		{"quarantine", map[string]bool{"support@bank.example": true}},
	} {
		path := filepath.Join(t.TempDir(), "postdesk.yaml")
		text := strings.Replace(string(example), "    machine_mail: ticket", "    machine_mail: "+c.value, 1)
		text = strings.ReplaceAll(text, "examples/", filepath.Dir(exampleConfig)+"/")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		env := exampleEnv("")
		env["POSTDESK_CONFIG"] = path
		a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string { return env[k] }}
		cfg, err := a.config()
		if err != nil {
			t.Fatalf("machine_mail: %s: %v", c.value, err)
		}
		got := intakeOptions(cfg, slog.New(slog.DiscardHandler)).QuarantineMachineMail
		if len(got) != len(c.want) || (c.want != nil && !got["support@bank.example"]) {
			t.Errorf("machine_mail: %s: intake quarantines machine mail of %v, want %v", c.value, got, c.want)
		}
	}
}
