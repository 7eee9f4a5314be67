package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// ticket list --queue prints a console queue as an agent sees it, with its
// count: Mary sees the resolved ticket of her department, Ken (Help Desk)
// does not, and may not look at her department's queue.
func TestTicketListQueue(t *testing.T) {
	url := dbtest.URL(t)
	number := buildScenario(t, url)
	env := exampleEnv(url)
	for _, c := range []struct {
		args []string
		code int
		want *regexp.Regexp
	}{
		{[]string{"ticket", "list", "--queue", "resolved", "--as", "mary"}, 0,
			regexp.MustCompile(`(?m)^` + number + ` +resolved +emergency +System Administrators.*\n1 tickets in the queue\n$`)},
		{[]string{"ticket", "list", "--as", "ken", "--queue", "resolved"}, 0, regexp.MustCompile(`(?m)^NUMBER.*\n0 tickets in the queue\n$`)},
		{[]string{"ticket", "list", "--queue", "all", "--admin", "--priority", "emergency"}, 0, regexp.MustCompile(`(?m)^` + number + ` .*\n1 tickets in the queue\n$`)},
		{[]string{"ticket", "list", "--queue", "open", "--admin"}, 0, regexp.MustCompile(`(?m)^NUMBER.*\n0 tickets in the queue\n$`)},
		{[]string{"ticket", "list", "--queue", "system administrators", "--as", "ken"}, 1, regexp.MustCompile(`^$`)},
	} {
		code, out, errs := runCLI(t, env, c.args...)
		if code != c.code || !c.want.MatchString(out) {
			t.Errorf("%v: exit %d, want %d and %s\n%s%s", c.args, code, c.code, c.want, out, errs)
		}
		if c.code == 1 && !strings.Contains(errs, "not allowed") {
			t.Errorf("%v: %s", c.args, errs)
		}
	}

	// Tickets the intake opens from mail are counted as they are opened.
	arriveUnder(t, url, nil,
		[]byte("From: Bob <bob@user.example>\r\nTo: outage@bank.example\r\nSubject: atm down\r\nMessage-ID: <bob-1@user.example>\r\n\r\nno cash\r\n"),
		[]byte("From: Ann <ann@user.example>\r\nTo: outage@bank.example\r\nSubject: cards refused\r\nMessage-ID: <ann-1@user.example>\r\n\r\nrefused\r\n"))
	code, out, errs := runCLI(t, env, "ticket", "list", "--queue", "unassigned", "--as", "ken", "--limit", "1")
	want := regexp.MustCompile(`(?m)^\d+ +open +emergency +Help Desk +- +bob@user.example .* atm down\n2 tickets in the queue\nnext page: --after (\S+)\n$`)
	m := want.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("Ken's unassigned queue after two mails: exit %d, want %s\n%s%s", code, want, out, errs)
	}
	code, out, errs = runCLI(t, env, "ticket", "list", "--queue", "unassigned", "--as", "ken", "--limit", "1", "--after", m[1])
	if want := regexp.MustCompile(`(?m)^\d+ +open .*ann@user.example .* cards refused\n2 tickets in the queue\n$`); code != 0 || !want.MatchString(out) {
		t.Fatalf("Ken's unassigned queue, page 2: exit %d, want %s\n%s%s", code, want, out, errs)
	}
}
