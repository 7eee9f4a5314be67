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
}
