package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// TestQueuePage: the landing page shows the agent's queues with their
// exact counts and the open queue's tickets in queue order (emergency
// first, then oldest), pages on by a cursor, and shows nothing of a
// department the agent is not in; another department's queue by URL is 404.
func TestQueuePage(t *testing.T) {
	r := newRig(t, nil)
	open := func(subject string, dept ticket.Department, p ticket.Priority) string {
		t.Helper()
		var number string
		if err := r.org.Store.InTx(r.ctx, func(tx *ticket.Tx) error {
			tk, _, err := tx.Open(r.ctx, ticket.NewTicket{Subject: subject, Customer: ticket.Contact{Email: "jane@user.com", Name: "Jane Doe"},
				DepartmentID: dept.ID, Priority: p, Message: ticket.Message{Body: subject}})
			if tk != nil {
				number = tk.Number
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return number
	}
	first := open("printer jammed", r.org.Help, ticket.PriorityNormal)
	second := open("card blocked", r.org.Help, ticket.PriorityNormal)
	outage := open("entire mobile online banking is down", r.org.Help, ticket.PriorityEmergency)
	hidden := open("load balancer failing", r.org.SysAdm, ticket.PriorityHigh)

	token := r.signIn()
	p := r.do(req{method: "GET", path: "/", cookie: token})
	if p.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d\n%s", p.StatusCode, p.body)
	}
	if !regexp.MustCompile(`Unassigned <span class="count">3</span>`).MatchString(p.body) ||
		!regexp.MustCompile(`Help Desk <span class="count">3</span>`).MatchString(p.body) {
		t.Errorf("the counts are not shown:\n%s", p.body)
	}
	order := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<td class="number">(\d+)</td>`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got, want := order(p.body), []string{outage, first, second}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("queue order %v, want %v (emergency first, then oldest)", got, want)
	}
	if strings.Contains(p.body, hidden) || strings.Contains(p.body, "load balancer failing") {
		t.Error("Ken's queue shows a System Administrators ticket")
	}

	// Two a page: the cursor of the next link finds the third.
	p = r.do(req{method: "GET", path: "/?view=unassigned&limit=2", cookie: token})
	next := regexp.MustCompile(`href="(/\?view=unassigned&amp;after=[^"]+)"`).FindStringSubmatch(p.body)
	if got := order(p.body); fmt.Sprint(got) != fmt.Sprint([]string{outage, first}) || next == nil {
		t.Fatalf("first page %v, next link %v", got, next)
	}
	p = r.do(req{method: "GET", path: strings.ReplaceAll(next[1], "&amp;", "&"), cookie: token})
	if got := order(p.body); fmt.Sprint(got) != fmt.Sprint([]string{second}) || strings.Contains(p.body, `id="next"`) {
		t.Errorf("second page %v\n%s", got, p.body)
	}

	// Another department's queue, by URL, does not exist for Ken.
	if p := r.do(req{method: "GET", path: fmt.Sprintf("/?view=department&dept=%d", r.org.SysAdm.ID), cookie: token}); p.StatusCode != http.StatusNotFound {
		t.Errorf("System Administrators' queue for Ken = %d, want 404", p.StatusCode)
	}
	if p := r.do(req{method: "GET", path: "/?view=open&after=garbage", cookie: token}); p.StatusCode != http.StatusNotFound {
		t.Errorf("a broken cursor = %d, want 404", p.StatusCode)
	}
}
