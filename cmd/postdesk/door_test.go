package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

// Ken transfers the outage ticket to System Administrators with his note
// once from his mail client and once on the command line, on two equal
// tickets: both go through the one door, so the history events and the
// notices (template, recipient, kind, internal or not, the text they
// render to) are the same but for ids, numbers, tokens and times.
func TestTransferWithNoteSameByMailAndCLI(t *testing.T) {
	world := newMailWorld(t, "jane@user.com", "ken.jay@bank.example", "mary@bank.example",
		"helpdesk@bank.example", "sysadmins@bank.example")
	url := dbtest.URL(t)
	s := startServer(t, url, world)

	// Jane reports the outage twice, as two mails that open two tickets.
	var numbers []string
	var alerts [][]byte
	for i := range 2 {
		kenHas := len(world.inbox("ken.jay@bank.example"))
		raw := janeOutage(fmt.Sprintf("jane-outage-%d@user.com", i))
		if err := s.send("jane@user.com", []string{"outage@bank.example"}, raw); err != nil {
			t.Fatal(err)
		}
		alert := world.waitFor("ken.jay@bank.example", kenHas, 15*time.Second)[0]
		m := tokenRE.FindStringSubmatch(header(alert, "Subject"))
		if m == nil {
			t.Fatalf("ken's alert has no ticket number: %q", header(alert, "Subject"))
		}
		numbers, alerts = append(numbers, m[1]), append(alerts, alert)
		s.settle()
	}
	if numbers[0] == numbers[1] {
		t.Fatalf("both mails joined ticket %s", numbers[0])
	}

	const note = "coordinating with sys admin team to address critical system outage"
	to, raw := reply("Ken Jay <ken.jay@bank.example>", "#transfer System Administrators\n"+note, alerts[0])
	if err := s.send("ken.jay@bank.example", []string{to}, raw); err != nil {
		t.Fatalf("by mail: %v", err)
	}
	if code, out, errs := runCLI(t, s.env, "ticket", "transfer", numbers[1], "System Administrators",
		"--note", note, "--as", "ken"); code != 0 {
		t.Fatalf("by CLI: exit %d\n%s%s", code, out, errs)
	}
	s.settle()

	byMail, byCLI := doorRecord(t, s, numbers[0]), doorRecord(t, s, numbers[1])
	if !strings.Contains(byMail, `event transferred by agent`) || !strings.Contains(byMail, note) ||
		!strings.Contains(byMail, "notice agent_transfer to mary@bank.example") {
		t.Fatalf("the mail's transfer is not on record:\n%s", byMail)
	}
	if byMail != byCLI {
		t.Fatalf("by mail and by CLI differ:\n--- by mail\n%s\n--- by CLI\n%s", byMail, byCLI)
	}
}

// doorRecord prints a ticket's events and notices without what differs
// between two equal tickets by nature: ids, numbers, tokens and times.
func doorRecord(t *testing.T, s *server, number string) string {
	t.Helper()
	ctx := context.Background()
	store := ticket.NewStore(s.pool, ticket.DefaultNumbering(), nil)
	tk, err := store.Get(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	history, err := store.History(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range history {
		if ev := e.Event; ev != nil {
			fmt.Fprintf(&b, "event %s by %s %d %q: %q (%d) → %q (%d); %q\n", ev.Action, ev.Actor.Kind, ev.Actor.ID,
				ev.Actor.Name, ev.Old, ev.OldID, ev.New, ev.NewID, ev.Detail)
			if m := e.Message; m != nil {
				fmt.Fprintf(&b, "  message %s by %s %d: %q\n", m.Kind, m.Author.Kind, m.Author.ID, m.Body)
			}
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT template, recipient, recipient_kind, automatic, state, subject, rendered
		FROM outbound_mails WHERE ticket_id = $1 ORDER BY id`, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var template, recipient, kind, state, subject string
		var automatic bool
		var rendered []byte
		if err := rows.Scan(&template, &recipient, &kind, &automatic, &state, &subject, &rendered); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "notice %s to %s (%s, automatic %t, %s): %q\n%s\n", template, recipient, kind, automatic,
			state, subject, renderedText(t, rendered))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(b.String(), number, "NUMBER")
}

var (
	// Signed reply addresses and Message-IDs carry tokens and ids.
	tokenishRE = regexp.MustCompile(`[A-Za-z0-9._%+=-]*[0-9][A-Za-z0-9._%+=-]*@[a-z0-9.-]+`)
	timeRE     = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?Z?|\d\d:\d\d(:\d\d)? ?(UTC|\+0000)`)
)

// renderedText is a rendered notice's headers that people read and its
// text parts, without ids, tokens and times.
func renderedText(t *testing.T, raw []byte) string {
	t.Helper()
	r, err := mail.CreateReader(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("rendered notice does not parse: %v\n%s", err, raw)
	}
	var b strings.Builder
	for _, h := range []string{"From", "To", "Reply-To", "Subject", "Auto-Submitted", "Precedence"} {
		fmt.Fprintf(&b, "  %s: %s\n", h, r.Header.Get(h))
	}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		ct := p.Header.Get("Content-Type")
		fmt.Fprintf(&b, "  part %s\n%s\n", strings.SplitN(ct, ";", 2)[0], body)
	}
	return timeRE.ReplaceAllString(tokenishRE.ReplaceAllString(b.String(), "ADDRESS"), "TIME")
}
