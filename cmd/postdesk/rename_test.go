package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// eventRows are the ticket's stored events, every column, oldest first.
func eventRows(t *testing.T, pool *pgxpool.Pool, number string) []string {
	t.Helper()
	return ticketRows(t, pool, `SELECT row_to_json(e)::text FROM ticket_events e
		JOIN tickets t ON t.id = e.ticket_id WHERE t.number = $1 ORDER BY e.id`, number)
}

// Renaming agents in the configuration changes no past event: the stored
// rows stay as written. Events keep the agents' ids, so `ticket show`
// names the same people by the names they carry now (Ken who assigned,
// Mary who was assigned), which is whom a reader looks for today.
func TestRenamedAgentKeepsHistoryShowShowsCurrentName(t *testing.T) {
	url := dbtest.URL(t)
	number, pool := openTicket(t, url)
	env := exampleEnv(url)
	for _, args := range [][]string{
		{"ticket", "assign", number, "mary", "--as", "ken"},
		{"ticket", "transfer", number, "System Administrators", "--as", "ken"},
	} {
		if code, out, errs := runCLI(t, env, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	before := eventRows(t, pool, number)

	// What `postdesk serve` does at start with an edited configuration.
	a, store := exampleStore(t, url)
	renamed := map[string]string{"Ken Jay": "Kenneth Jay", "Mary Major": "Mary Minor"}
	for i, ag := range a.cfg.Agents {
		if n, ok := renamed[ag.Name]; ok {
			a.cfg.Agents[i].Name = n
			delete(renamed, ag.Name)
		}
	}
	if len(renamed) != 0 {
		t.Fatalf("the example configuration lacks %v", renamed)
	}
	if err := store.SyncOrg(context.Background(), orgOf(a.cfg)); err != nil {
		t.Fatal(err)
	}

	after := eventRows(t, pool, number)
	if strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("renaming agents changed stored events:\nbefore\n%s\nafter\n%s",
			strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
	_, show, _ := runCLI(t, env, "ticket", "show", number)
	for _, want := range []string{
		"assigned none → Mary Minor by Kenneth Jay <ken.jay@bank.example>",
		"transferred Help Desk → System Administrators by Kenneth Jay",
		"Assignee:      Mary Minor",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "Ken Jay") {
		t.Errorf("show still names Ken by his old name:\n%s", show)
	}
}
