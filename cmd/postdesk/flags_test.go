package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// flagCase is one subcommand as people type it: its usage name and its
// positional arguments, to which the test appends flags.
type flagCase struct {
	usage string   // "ticket show": the name its usage line carries
	args  []string // the command line without the flags under test
	// readsConfig is false for the commands that never load a
	// configuration (version, inspect, sink).
	readsConfig bool
}

// flagCases lists every subcommand of postdesk; TestFlagCasesCoverEveryCommand
// keeps it complete.
func flagCases(mail string) []flagCase {
	return []flagCase{
		{"serve", []string{"serve"}, true},
		{"migrate", []string{"migrate"}, true},
		{"config check", []string{"config", "check"}, true},
		{"ticket list", []string{"ticket", "list"}, true},
		{"ticket show", []string{"ticket", "show", "123456"}, true},
		{"ticket search", []string{"ticket", "search", "banking"}, true},
		{"ticket reply", []string{"ticket", "reply", "123456", "we are on it", "--as", "ken"}, true},
		{"ticket note", []string{"ticket", "note", "123456", "looking", "--as", "ken"}, true},
		{"ticket assign", []string{"ticket", "assign", "123456", "mary"}, true},
		{"ticket transfer", []string{"ticket", "transfer", "123456", "System Administrators"}, true},
		{"ticket status", []string{"ticket", "status", "123456", "resolved"}, true},
		{"ticket priority", []string{"ticket", "priority", "123456", "high"}, true},
		{"version", []string{"version"}, false},
		{"inspect", []string{"inspect", mail}, false},
		{"mailbox test", []string{"mailbox", "test", "support"}, true},
		{"mail list", []string{"mail", "list"}, true},
		{"mail show", []string{"mail", "show", "1"}, true},
		{"mail replay", []string{"mail", "replay", "1"}, true},
		{"template render", []string{"template", "render", "customer_ack", "--ticket", "123456"}, true},
		{"send", []string{"send", "--from", "jane@user.com", "--to", "outage@bank.example", mail}, true},
		{"sink", []string{"sink"}, false},
		{"agent link", []string{"agent", "link", "ken"}, true},
		{"agent password", []string{"agent", "password", "ken"}, true},
	}
}

func TestFlagCasesCoverEveryCommand(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range flagCases("x.eml") {
		covered[c.args[0]] = true
		if c.args[0] == "ticket" {
			covered["ticket "+c.args[1]] = true
		}
	}
	for name := range commands() {
		if !covered[name] {
			t.Errorf("command %s has no flag case", name)
		}
	}
	for name := range workCommands {
		if !covered["ticket "+name] {
			t.Errorf("ticket %s has no flag case", name)
		}
	}
}

// A --config after the positional arguments is read, not taken for one of
// them or ignored: the command looks for that very file.
func TestFlagConfigAfterArguments(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "elsewhere.yaml")
	mail := filepath.Join("..", "..", "intake", "parse", "testdata", "html-only.eml")
	for _, c := range flagCases(mail) {
		if !c.readsConfig {
			continue
		}
		t.Run(c.usage, func(t *testing.T) {
			args := append(append([]string{}, c.args...), "--config", missing)
			code, out, errs := runCLI(t, map[string]string{}, args...)
			if code == 0 || !strings.Contains(errs, "elsewhere.yaml") {
				t.Fatalf("postdesk %s: exit %d, the error does not name the --config file:\n%s%s",
					strings.Join(args, " "), code, out, errs)
			}
			if code == 2 && strings.Contains(errs, "Usage:") {
				t.Fatalf("postdesk %s: usage instead of reading the --config file:\n%s", strings.Join(args, " "), errs)
			}
		})
	}
}

// An unknown flag anywhere ends every subcommand with exit 2 and its usage.
func TestFlagUnknownIsUsage(t *testing.T) {
	mail := filepath.Join("..", "..", "intake", "parse", "testdata", "html-only.eml")
	for _, c := range flagCases(mail) {
		t.Run(c.usage, func(t *testing.T) {
			for _, args := range [][]string{
				append(append([]string{}, c.args...), "--no-such-flag"),
				append(append([]string{}, c.args...), "--no-such-flag=1"),
				append([]string{c.args[0], "--no-such-flag"}, c.args[1:]...),
			} {
				code, _, errs := runCLI(t, map[string]string{}, args...)
				if code != 2 || !strings.Contains(errs, "flag provided but not defined: -no-such-flag") ||
					!strings.Contains(errs, "Usage: postdesk "+c.usage) {
					t.Errorf("postdesk %s: exit %d, want 2 with the usage of %s:\n%s", strings.Join(args, " "), code, c.usage, errs)
				}
			}
		})
	}
}

// The commands that read no configuration take their own flags after the
// arguments too.
func TestFlagOwnFlagsAfterArguments(t *testing.T) {
	mail := filepath.Join("..", "..", "intake", "parse", "testdata", "html-only.eml")
	code, out, errs := runCLI(t, nil, "inspect", mail, "--json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["file"] != mail {
		t.Fatalf("inspect FILE --json: exit %d, not one JSON object for the file:\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, nil, "version", "--config", "nowhere.yaml"); code != 0 || !strings.HasPrefix(out, "postdesk ") {
		t.Fatalf("version --config: exit %d %s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, nil, "sink", "--dir", t.TempDir(), "--listen", "127.0.0.1:99999"); code != 1 || !strings.Contains(errs, "99999") {
		t.Fatalf("sink --listen: exit %d, the error does not name the address: %s", code, errs)
	}
}

// "--" ends the flags: what follows is an argument even when it starts
// with "-"; a lone "-" is an argument (standard input).
func TestFlagsFirst(t *testing.T) {
	a := &app{}
	fs := a.flags("ticket note", "", "")
	fs.String("as", "", "")
	fs.Bool("resolve", false, "")
	for _, c := range []struct{ in, want string }{
		{"12 text --as ken", "--as ken -- 12 text"},
		{"12 --resolve text --as=ken", "--resolve --as=ken -- 12 text"},
		{"12 - --as ken", "--as ken -- 12 -"},
		{"--as ken 12 -- --not-a-flag", "--as ken -- 12 --not-a-flag"},
		{"--as ken", "--as ken"},
		{"12 --config f.yaml", "--config f.yaml -- 12"},
	} {
		got := strings.Join(flagsFirst(fs, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("flagsFirst(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, sub, rest string }{
		{"show 12 --config f", "show", "12 --config f"},
		{"--config f show 12", "show", "--config f 12"},
		{"--config=f show 12", "show", "--config=f 12"},
		{"test --relay", "test", "--relay"},
		{"--help", "", "--help"},
		{"", "", ""},
	} {
		sub, rest := splitSub(strings.Fields(c.in))
		if sub != c.sub || strings.Join(rest, " ") != c.rest {
			t.Errorf("splitSub(%q) = %q, %q; want %q, %q", c.in, sub, rest, c.sub, c.rest)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"--config f ticket show 12", "ticket --config f show 12"},
		{"--config=f send -- -x", "send --config=f -- -x"},
		{"ticket show 12", "ticket show 12"},
		{"--config", "--config"},
	} {
		if got := strings.Join(globalFlags(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("globalFlags(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The README's own command line works: the configuration comes after the
// ticket number, also before the command, and nothing else names it.
func TestFlagTicketShowConfigLast(t *testing.T) {
	url := dbtest.URL(t)
	number := buildScenario(t, url)
	env := exampleEnv(url)
	delete(env, "POSTDESK_CONFIG")
	for _, args := range [][]string{
		{"ticket", "show", number, "--config", exampleConfig},
		{"--config", exampleConfig, "ticket", "show", number},
		{"ticket", "list", "--status", "resolved", "--config=" + exampleConfig},
		{"ticket", "search", "load", "balancer", "--config", exampleConfig},
		{"ticket", "search", "--limit", "5", "status:resolved", "from:jane@user.com", "--config=" + exampleConfig},
	} {
		code, out, errs := runCLI(t, env, args...)
		if code != 0 || !strings.Contains(out, number) {
			t.Errorf("postdesk %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
		}
	}
}

// TestTicketSearchFindsTheScenario: `postdesk ticket search` finds the
// scenario's ticket by words of Mary's reply, marks them in the snippet,
// and by the customer's address with a status.
func TestTicketSearchFindsTheScenario(t *testing.T) {
	url := dbtest.URL(t)
	number := buildScenario(t, url)
	env := exampleEnv(url)
	code, out, errs := runCLI(t, env, "ticket", "search", "balancers", "fixed")
	if code != 0 || !strings.Contains(out, number) || !strings.Contains(out, "[balancer]") {
		t.Fatalf("search: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, env, "ticket", "search", "from:jane", "status:open")
	if code != 0 || strings.Contains(out, number) || !strings.Contains(out, "no ticket found") {
		t.Fatalf("search of open tickets found the resolved one: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, env, "ticket", "search", "status:later")
	if code != 1 {
		t.Fatalf("an unknown status: exit %d\n%s", code, out)
	}
}
