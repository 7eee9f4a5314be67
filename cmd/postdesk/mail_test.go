package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/migrations/dbtest"
)

// arriveUnder takes mails in through a processor configured as the example
// with the given ban list (the configuration before an admin changed it),
// and returns their stored ids.
func arriveUnder(t *testing.T, url string, ban []string, raws ...[]byte) ([]int64, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string { return exampleEnv(url)[k] }}
	store, _, err := a.openWorkStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Pool().Close)
	if err := store.SyncOrg(ctx, orgOf(a.cfg)); err != nil {
		t.Fatal(err)
	}
	opts := intakeOptions(a.cfg, slog.New(slog.DiscardHandler))
	opts.Ban = ban
	proc, err := intake.NewProcessor(ctx, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, raw := range raws {
		res, err := proc.Deliver(ctx, intake.Envelope{Transport: intake.TransportSMTP, Remote: "192.0.2.7:40001",
			MailFrom: "bounces@user.com", Rcpt: []string{"outage@bank.example"}}, raw)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.InboundID)
	}
	return ids, store.Pool()
}

func TestMailListShowReplay(t *testing.T) {
	url := dbtest.URL(t)
	env := exampleEnv(url)
	// LF line ends, a Latin-1 byte and trailing blanks: show --raw must give
	// back exactly these bytes.
	jane := []byte("From: Jane Doe <jane@user.com>\nTo: outage@bank.example\nSubject: entire mobile online banking is down\n" +
		"Message-ID: <jane-1@user.com>\nDate: Fri, 27 Nov 2026 09:00:00 +0000\nContent-Type: text/plain; charset=iso-8859-1\n\n" +
		"customers are reporting a 404 error when browsing to online banking \xe9  \n")
	bulk := []byte("From: News <news@lists.example>\r\nTo: outage@bank.example\r\nSubject: weekly digest\r\n" +
		"Message-ID: <digest-7@lists.example>\r\nX-Apple-Unsubscribe: true\r\n\r\nthis week\r\n")
	bob := []byte("From: bob@user.com\r\nTo: outage@bank.example\r\nSubject: card blocked\r\nMessage-ID: <bob-1@user.com>\r\n\r\nhelp\r\n")
	ids, pool := arriveUnder(t, url, []string{"jane@user.com"}, jane, bulk, bob)
	janeID, bulkID, bobID := ids[0], ids[1], ids[2]

	// list: the quarantine, newest first, with reasons.
	code, out, errs := runCLI(t, env, "mail", "list")
	if code != 0 {
		t.Fatalf("mail list: exit %d\n%s", code, errs)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(fmt.Sprintf(`(?m)^%d +\S+ \S+ +smtp +outage +Jane Doe <jane@user.com> +entire mobile online banking is down +quarantined +- +sender jane@user.com is banned$`, janeID)),
		regexp.MustCompile(fmt.Sprintf(`(?m)^%d .*News <news@lists.example> +weekly digest +quarantined +- +feedback report \(X-Apple-Unsubscribe: true\)`, bulkID)),
	} {
		if !want.MatchString(out) {
			t.Errorf("mail list lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "card blocked") || strings.Index(out, "weekly digest") > strings.Index(out, "jane@user.com") {
		t.Errorf("mail list shows Bob's ticket mail, or not newest first:\n%s", out)
	}

	code, out, errs = runCLI(t, env, "mail", "list", "--outcome", "all", "--json")
	var listed []intake.StoredMail
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil {
		t.Fatalf("list --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if len(listed) != 3 || listed[0].ID != bobID || listed[0].Outcome != intake.OutcomeNewTicket || listed[0].TicketNumber == "" ||
		listed[2].ID != janeID || listed[2].Sender != "Jane Doe <jane@user.com>" || listed[2].RemoteAddr != "192.0.2.7:40001" {
		t.Fatalf("list --json: %+v", listed)
	}
	if code, _, errs := runCLI(t, env, "mail", "list", "--outcome", "spam"); code != 1 || !strings.Contains(errs, `unknown outcome "spam"`) {
		t.Fatalf("bad outcome: exit %d %q", code, errs)
	}

	// show: the fields, and the bytes as stored.
	code, out, _ = runCLI(t, env, "mail", "show", fmt.Sprint(janeID), "--raw")
	if code != 0 || out != string(jane) {
		t.Fatalf("show --raw: exit %d, %q\nwant %q", code, out, jane)
	}
	code, out, errs = runCLI(t, env, "mail", "show", fmt.Sprint(janeID))
	if code != 0 {
		t.Fatalf("show: exit %d %s", code, errs)
	}
	for _, want := range []string{"Transport:  smtp", "Remote:     192.0.2.7:40001", "MAIL FROM:  <bounces@user.com>",
		"RCPT TO:    outage@bank.example", "Sender:     Jane Doe <jane@user.com>", "Message-ID: <jane-1@user.com>",
		fmt.Sprintf("Size:       %d bytes", len(jane)), "Outcome:    quarantined", "Reason:     sender jane@user.com is banned",
		"Ticket:     -", "Replayed:   never", fmt.Sprintf("postdesk mail replay %d", janeID)} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	// Ids that are wrong, or not in quarantine, are refused and change nothing.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mail", "show", "999999"}, 1, "no stored mail has id 999999"},
		{[]string{"mail", "show", "abc"}, 2, `"abc" is not a mail id`},
		{[]string{"mail", "replay", "999999"}, 1, "no stored mail has id 999999"},
		{[]string{"mail", "replay", "-3"}, 2, ""},
		{[]string{"mail", "replay", "x1"}, 2, `"x1" is not a mail id`},
		{[]string{"mail", "replay"}, 2, "Usage: postdesk mail replay"},
		{[]string{"mail", "replay", "--all", fmt.Sprint(janeID)}, 2, "Usage: postdesk mail replay"},
		{[]string{"mail", "replay", fmt.Sprint(bobID)}, 1, fmt.Sprintf("mail %d is new_ticket: only quarantined or ignored mail can be replayed", bobID)},
		{[]string{"mail", "replay", fmt.Sprint(janeID), fmt.Sprint(bobID)}, 1, "nothing replayed"},
		{[]string{"mail", "frob"}, 1, `unknown mail command "frob"`},
	} {
		code, _, errs := runCLI(t, env, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d %q; want %d with %q", c.args, code, errs, c.code, c.want)
		}
	}
	var outcome string
	var replays int
	if err := pool.QueryRow(context.Background(), `SELECT outcome, replays FROM inbound_mails WHERE id = $1`, janeID).
		Scan(&outcome, &replays); err != nil || outcome != "quarantined" || replays != 0 {
		t.Fatalf("after refused replays Jane's mail is %s, replayed %d times (%v)", outcome, replays, err)
	}

	// The example configuration bans nobody: Jane's mail opens her ticket.
	code, out, errs = runCLI(t, env, "mail", "replay", fmt.Sprint(janeID))
	m := regexp.MustCompile(fmt.Sprintf(`^mail %d: quarantined → new_ticket, ticket (\d+)\n$`, janeID)).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errs)
	}
	number := m[1]
	if !strings.Contains(errs, "mail replayed") {
		t.Errorf("the replay was not logged:\n%s", errs)
	}
	if got := notices(t, pool, number); len(got) == 0 || got[0] != "customer_ack jane@user.com" {
		t.Fatalf("notices of the replayed ticket: %q", got)
	}
	_, show, _ := runCLI(t, env, "ticket", "show", number)
	if !strings.Contains(show, "opened by Jane Doe") || !strings.Contains(show, "| customers are reporting a 404 error") {
		t.Fatalf("ticket show:\n%s", show)
	}
	_, out, _ = runCLI(t, env, "mail", "show", fmt.Sprint(janeID))
	for _, want := range []string{"Outcome:    new_ticket", "Ticket:     " + number, "Replayed:   1 time(s), last "} {
		if !strings.Contains(out, want) {
			t.Errorf("show after replay lacks %q:\n%s", want, out)
		}
	}
	code, _, errs = runCLI(t, env, "mail", "replay", fmt.Sprint(janeID))
	if code != 1 || !strings.Contains(errs, "is new_ticket: only quarantined or ignored mail can be replayed") {
		t.Fatalf("second replay: exit %d %q", code, errs)
	}

	// --all: the unsubscribe request is a machine's report under any configuration.
	code, out, errs = runCLI(t, env, "mail", "replay", "--all")
	want := fmt.Sprintf("mail %d: quarantined → quarantined, ticket -, reason: feedback report", bulkID)
	if code != 0 || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Fatalf("replay --all: exit %d\n%s%s", code, out, errs)
	}
	var rows, tickets int
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM inbound_mails), (SELECT count(*) FROM tickets)`).
		Scan(&rows, &tickets); err != nil || rows != 3 || tickets != 2 {
		t.Fatalf("%d stored mails and %d tickets, want 3 and 2 (%v)", rows, tickets, err)
	}
}
