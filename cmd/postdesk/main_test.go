package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

var exampleConfig = filepath.Join("..", "..", "examples", "postdesk.yaml")

// runCLI runs one command line with the given environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIWithInput(t, env, "", args...)
}

// runCLIWithInput runs one command line with input on its standard input.
func runCLIWithInput(t *testing.T, env map[string]string, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runWith(context.Background(), args, strings.NewReader(input), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func exampleEnv(dbURL string) map[string]string {
	return map[string]string{
		"POSTDESK_CONFIG":       exampleConfig,
		"POSTDESK_DATABASE_URL": dbURL,
		"POSTDESK_REPLY_SECRET": "test-secret-0123456789",
	}
}

func TestConfigCheckExample(t *testing.T) {
	code, out, errs := runCLI(t, exampleEnv(""), "config", "check", exampleConfig)
	if code != 0 {
		t.Fatalf("config check examples/postdesk.yaml: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "OK (2 departments, 2 agents, 1 help topics, 2 mailboxes)") {
		t.Fatalf("output %q", out)
	}
}

func TestConfigCheckBrokenListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.yaml")
	broken := `organisation:
  name: Bank
  message_id_domain: bank.example
tickets:
  reply_secret_env: POSTDESK_REPLY_SECRET
departments:
  - name: Help Desk
agents:
  - name: Ken
    email: not-an-address
    departments: [Help Desks]
mailboxes:
  - name: support
    address: support@bank.example
    kind: smtp
    department: Help Desk
    priorty: high
relay:
  host: 127.0.0.1
`
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, map[string]string{}, "config", "check", path)
	if code == 0 {
		t.Fatalf("broken config passed: %s", out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`broken\.yaml:5:\d+: .*POSTDESK_REPLY_SECRET`),
		regexp.MustCompile(`broken\.yaml:10:\d+: .*not-an-address`),
		regexp.MustCompile(`broken\.yaml:11:\d+: .*Help Desks`),
		regexp.MustCompile(`broken\.yaml:17:\d+: .*priorty.*priority`),
		regexp.MustCompile(`broken\.yaml:15:\d+: .*needs listen.smtp`),
		regexp.MustCompile(`configuration has 5 problem`),
	} {
		if !want.MatchString(errs) {
			t.Errorf("stderr lacks %s:\n%s", want, errs)
		}
	}
}

func TestUnknownCommandAndHelp(t *testing.T) {
	if code, _, errs := runCLI(t, nil, "frobnicate"); code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: exit %d, %q", code, errs)
	}
	if code, out, _ := runCLI(t, nil, "--help"); code != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "ticket") {
		t.Fatalf("--help: exit %d, %q", code, out)
	}
	if code, _, errs := runCLI(t, nil, "ticket", "show", "--help"); code != 2 || !strings.Contains(errs, "Usage: postdesk ticket show") {
		t.Fatalf("ticket show --help: exit %d, %q", code, errs)
	}
	if code, out, _ := runCLI(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "postdesk ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}

func TestMigrateTwice(t *testing.T) {
	env := exampleEnv(dbtest.Empty(t))
	code, out, errs := runCLI(t, env, "migrate")
	if code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("first migrate: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, env, "migrate")
	if code != 0 || !strings.Contains(out, "nothing to do") || strings.Contains(out, "applied") {
		t.Fatalf("second migrate: exit %d\n%s%s", code, out, errs)
	}
}

func TestMissingDatabaseSaysWhatToSet(t *testing.T) {
	code, _, errs := runCLI(t, exampleEnv(""), "ticket", "list")
	if code != 1 || !strings.Contains(errs, "set POSTDESK_DATABASE_URL") {
		t.Fatalf("exit %d, %q", code, errs)
	}
	code, _, errs = runCLI(t, exampleEnv("postgres://postgres@127.0.0.1:1/none?connect_timeout=2"), "ticket", "list")
	if code != 1 || !strings.Contains(errs, "does not answer") {
		t.Fatalf("exit %d, %q", code, errs)
	}
}

// buildScenario works a ticket through the operations as the scenario does
// and returns its number.
func buildScenario(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	code, _, errs := runCLI(t, exampleEnv(url), "config", "check")
	if code != 0 {
		t.Fatal(errs)
	}
	store := ticket.NewStore(pool, ticket.DefaultNumbering(), nil)
	cfgApp := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string { return exampleEnv(url)[k] }}
	cfg, err := cfgApp.config()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SyncOrg(ctx, orgOf(cfg)); err != nil {
		t.Fatal(err)
	}
	help, _ := ticket.FindDepartment(ctx, pool, "Help Desk")
	sys, _ := ticket.FindDepartment(ctx, pool, "System Administrators")
	ken, _ := ticket.FindAgent(ctx, pool, "ken")
	mary, _ := ticket.FindAgent(ctx, pool, "mary")
	var number string
	steps := []func(tx *ticket.Tx) error{
		func(tx *ticket.Tx) error {
			tk, _, err := tx.Open(ctx, ticket.NewTicket{
				Subject: "entire mobile online banking is down", Customer: ticket.Contact{Email: "jane@user.com", Name: "Jane"},
				DepartmentID: help.ID, Priority: ticket.PriorityEmergency,
				Message: ticket.Message{Body: "customers are reporting a 404 error when browsing to online banking"},
			})
			if tk != nil {
				number = tk.Number
			}
			return err
		},
		func(tx *ticket.Tx) error {
			tk, err := tx.LockNumber(ctx, number)
			if err != nil {
				return err
			}
			return tx.Transfer(ctx, tk, ticket.AgentActor(ken), sys.ID, &ticket.Message{
				Author: ticket.AgentActor(ken), Body: "coordinating with sys admin team to address critical system outage"})
		},
		func(tx *ticket.Tx) error {
			tk, err := tx.LockNumber(ctx, number)
			if err != nil {
				return err
			}
			if _, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindReply, Author: ticket.AgentActor(mary),
				Body: "Hi Jane, we discovered a failed load balancer. The issue has been fixed"}); err != nil {
				return err
			}
			return tx.SetStatus(ctx, tk, ticket.AgentActor(mary), ticket.StatusResolved)
		},
	}
	for _, step := range steps {
		if err := store.InTx(ctx, step); err != nil {
			t.Fatal(err)
		}
	}
	return number
}

func TestTicketShowPrintsWholeHistory(t *testing.T) {
	url := dbtest.URL(t)
	number := buildScenario(t, url)
	code, out, errs := runCLI(t, exampleEnv(url), "ticket", "show", number)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"Ticket " + number + "  [#" + number + "] entire mobile online banking is down",
		"Status:        resolved",
		"Priority:      emergency",
		"Department:    System Administrators",
		"Customer:      Jane <jane@user.com>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// The stages appear in order.
	order := []string{
		"opened by Jane",
		"| customers are reporting a 404 error",
		"transferred Help Desk → System Administrators by Ken Jay",
		"internal note:",
		"| coordinating with sys admin team",
		"replied by Mary Major",
		"public reply",
		"| Hi Jane, we discovered a failed load balancer",
		"status open → resolved by Mary Major",
	}
	pos := 0
	for _, s := range order {
		i := strings.Index(out[pos:], s)
		if i < 0 {
			t.Fatalf("after position %d, show lacks %q:\n%s", pos, s, out)
		}
		pos += i + len(s)
	}

	code, _, errs = runCLI(t, exampleEnv(url), "ticket", "show", "999999")
	if code != 1 || !strings.Contains(errs, "no ticket numbered 999999") {
		t.Fatalf("unknown ticket: exit %d %q", code, errs)
	}
}

func TestTicketListFilters(t *testing.T) {
	url := dbtest.URL(t)
	number := buildScenario(t, url)
	env := exampleEnv(url)
	code, out, errs := runCLI(t, env, "ticket", "list", "--status", "resolved", "--department", "system administrators")
	if code != 0 || !strings.Contains(out, number) || !strings.Contains(out, "entire mobile online banking is down") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runCLI(t, env, "ticket", "list", "--status", "open"); code != 0 || strings.Contains(out, number) {
		t.Fatalf("open list: exit %d, shows the resolved ticket:\n%s", code, out)
	}
	if code, _, errs := runCLI(t, env, "ticket", "list", "--status", "pending"); code != 1 || !strings.Contains(errs, "unknown status") {
		t.Fatalf("bad status: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, env, "ticket", "list", "--department", "Nowhere"); code != 1 || !strings.Contains(errs, `no department named "Nowhere"`) {
		t.Fatalf("bad department: exit %d %q", code, errs)
	}
}
