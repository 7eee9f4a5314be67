package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

// exampleStore opens the work store as `postdesk serve` does, with the
// example configuration over the database at url; a.cfg is that
// configuration, for a test to edit before it syncs the organisation.
func exampleStore(t *testing.T, url string) (*app, *ticket.Store) {
	t.Helper()
	a := &app{getenv: func(k string) string { return exampleEnv(url)[k] }}
	store, _, err := a.openWorkStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Pool().Close)
	return a, store
}

// openTicket opens Jane's ticket through the store, with the organisation
// synced from the example configuration, and returns its number.
func openTicket(t *testing.T, url string) (string, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	a, store := exampleStore(t, url)
	if err := store.SyncOrg(ctx, orgOf(a.cfg)); err != nil {
		t.Fatal(err)
	}
	help, _ := ticket.FindDepartment(ctx, store.Pool(), "Help Desk")
	var number string
	err := store.InTx(ctx, func(tx *ticket.Tx) error {
		tk, _, err := tx.Open(ctx, ticket.NewTicket{Subject: "entire mobile online banking is down",
			Customer: ticket.Contact{Email: "jane@user.com", Name: "Jane"}, DepartmentID: help.ID,
			Priority: ticket.PriorityEmergency, Message: ticket.Message{Body: "404 everywhere"}})
		if tk != nil {
			number = tk.Number
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return number, store.Pool()
}

// ticketRows lists the text of each row that query finds for the ticket
// whose number is its $1, in the query's order.
func ticketRows(t *testing.T, pool *pgxpool.Pool, query, number string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), query, number)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// notices lists the templates queued for the ticket to each recipient, in order.
func notices(t *testing.T, pool *pgxpool.Pool, number string) []string {
	t.Helper()
	return ticketRows(t, pool, `SELECT template || ' ' || recipient FROM outbound_mails o
		JOIN tickets t ON t.id = o.ticket_id WHERE t.number = $1 ORDER BY o.id`, number)
}

func TestTicketWorkCommands(t *testing.T) {
	url := dbtest.URL(t)
	number, pool := openTicket(t, url)
	env := exampleEnv(url)
	before := len(notices(t, pool, number))

	step := func(wantOut string, wantNotices []string, args ...string) {
		t.Helper()
		n := len(notices(t, pool, number))
		code, out, errs := runCLI(t, env, args...)
		if code != 0 || !strings.Contains(out, wantOut) {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		got := notices(t, pool, number)[n:]
		if strings.Join(got, ", ") != strings.Join(wantNotices, ", ") {
			t.Fatalf("%v: notices %q, want %q", args, got, wantNotices)
		}
	}
	step("System Administrators", []string{"agent_transfer mary@bank.example", "agent_transfer sysadmins@bank.example"},
		"ticket", "transfer", number, "System Administrators", "--note", "over to you", "--as", "ken")
	step("assignee Mary Major", []string{"agent_assigned mary@bank.example"}, "ticket", "assign", number, "mary", "--as", "ken")
	step("high", nil, "ticket", "priority", number, "high", "--as", "mary")
	// The note goes to the assignee and the department, but not to Mary, who wrote it.
	step("assignee Mary Major", []string{"agent_note sysadmins@bank.example"}, "ticket", "note", number, "--as", "mary", "checking logs")

	code, out, errs := runCLIWithInput(t, env, "The load balancer is fixed.\n", "ticket", "reply", number, "--as", "mary", "--resolve", "-")
	if code != 0 || !strings.Contains(out, "resolved") {
		t.Fatalf("reply --resolve: exit %d\n%s%s", code, out, errs)
	}
	got := notices(t, pool, number)
	last := strings.Join(got[len(got)-2:], ", ")
	if !strings.Contains(last, "customer_resolved jane@user.com") || !strings.Contains(last, "agent_resolved ken.jay@bank.example") {
		t.Fatalf("resolution notices %q", got[before:])
	}
	_, show, _ := runCLI(t, env, "ticket", "show", number)
	for _, want := range []string{"transferred Help Desk → System Administrators by Ken Jay", "| over to you",
		"assigned none → Mary Major by Ken Jay", "priority emergency → high by Mary Major", "| checking logs",
		"replied by Mary Major", "| The load balancer is fixed.", "status open → resolved by Mary Major"} {
		if !strings.Contains(show, want) {
			t.Fatalf("history lacks %q:\n%s", want, show)
		}
	}
	step("open", nil, "ticket", "status", number, "open")
	step("assignee none", nil, "ticket", "assign", number, "none")
}

func TestTicketWorkErrors(t *testing.T) {
	url := dbtest.URL(t)
	number, pool := openTicket(t, url)
	env := exampleEnv(url)
	opening := len(notices(t, pool, number))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ticket", "reply", number, "hello"}, 1, "needs --as AGENT"},
		{[]string{"ticket", "reply", number, "--as", "nobody", "hello"}, 1, `no active agent "nobody"`},
		{[]string{"ticket", "assign", number, "nobody"}, 1, `no active agent "nobody"`},
		{[]string{"ticket", "transfer", number, "Nowhere"}, 1, `no department "Nowhere"`},
		{[]string{"ticket", "status", number, "pending"}, 1, "unknown status"},
		{[]string{"ticket", "priority", number, "urgent"}, 1, "unknown priority"},
		{[]string{"ticket", "note", number, "--as", "ken", "  "}, 1, "has no text"},
		{[]string{"ticket", "status", "999999", "closed"}, 1, "no ticket numbered 999999"},
		{[]string{"ticket", "assign", number}, 2, "Usage: postdesk ticket assign"},
		{[]string{"ticket", "frob", number}, 1, `unknown ticket command "frob"`},
	} {
		code, _, errs := runCLI(t, env, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d %q; want %d with %q", c.args, code, errs, c.code, c.want)
		}
	}
	if n := len(notices(t, pool, number)); n != opening {
		t.Fatalf("refused commands queued notices: %d in all, want the %d of the opening", n, opening)
	}
}
