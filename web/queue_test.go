package web

import (
	"fmt"
	"net/http"
	"net/url"
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
		for _, m := range regexp.MustCompile(`<td class="number"><a href="/tickets/\d+">(\d+)</a></td>`).FindAllStringSubmatch(body, -1) {
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

// TestTicketPage: a ticket's page shows its fields and its thread in time
// order, the internal note marked as one, the events with their actor, and
// the notices with their state; an agent of another department gets 404,
// as for a number that does not exist, until the ticket is transferred to
// them.
func TestTicketPage(t *testing.T) {
	r := newRig(t, nil)
	var tk *ticket.Ticket
	if err := r.org.Store.InTx(r.ctx, func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(r.ctx, ticket.NewTicket{Subject: "entire mobile online banking is down",
			Customer:     ticket.Contact{Email: "jane@user.com", Name: "Jane Doe"},
			DepartmentID: r.org.Help.ID, Priority: ticket.PriorityEmergency,
			Message: ticket.Message{Body: "customers are reporting a 404 error when browsing to online banking"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	note := "coordinating with sys admin team to address critical system outage"
	if _, err := r.org.Store.Apply(r.ctx, tk.Number, ticket.AgentActor(r.org.Ken),
		ticket.Op{Kind: ticket.OpNote, Message: &ticket.Message{Body: note}}); err != nil {
		t.Fatal(err)
	}
	token := r.signIn()
	p := r.do(req{method: "GET", path: "/tickets/" + tk.Number, cookie: token})
	if p.StatusCode != http.StatusOK {
		t.Fatalf("GET /tickets/%s = %d\n%s", tk.Number, p.StatusCode, p.body)
	}
	for _, want := range []string{"entire mobile online banking is down", "Jane Doe &lt;jane@user.com&gt;", "emergency",
		"customers are reporting a 404 error", `<strong class="internal">Internal note</strong> by`, note,
		"Notice customer_ack to jane@user.com: pending"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the ticket page lacks %q", want)
		}
	}
	if i, j := strings.Index(p.body, "customers are reporting"), strings.Index(p.body, note); i < 0 || j < i {
		t.Error("the thread is not in time order")
	}
	// The queue links to it.
	if q := r.do(req{method: "GET", path: "/", cookie: token}); !strings.Contains(q.body, `href="/tickets/`+tk.Number+`"`) {
		t.Error("the queue does not link to the ticket")
	}
	// Mary, of System Administrators, is not shown the ticket, nor told it exists.
	if err := r.org.Store.SetPassword(r.ctx, r.org.Mary.ID, kenPass); err != nil {
		t.Fatal(err)
	}
	mary := r.password("mary", kenPass, otherIP).session()
	if mary == nil {
		t.Fatal("Mary cannot sign in")
	}
	for _, path := range []string{"/tickets/" + tk.Number, "/tickets/999999"} {
		if p := r.do(req{method: "GET", path: path, cookie: mary.Value, remote: otherIP}); p.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s for Mary = %d, want 404", path, p.StatusCode)
		}
	}
	if _, err := r.org.Store.Apply(r.ctx, tk.Number, ticket.AgentActor(r.org.Ken),
		ticket.Op{Kind: ticket.OpTransfer, Value: "System Administrators"}); err != nil {
		t.Fatal(err)
	}
	p = r.do(req{method: "GET", path: "/tickets/" + tk.Number, cookie: mary.Value, remote: otherIP})
	if p.StatusCode != http.StatusOK || !strings.Contains(p.body, "transferred: Help Desk → System Administrators") ||
		!strings.Contains(p.body, "by Ken Jay") {
		t.Errorf("after the transfer Mary gets %d\n%s", p.StatusCode, p.body)
	}
}

// TestTicketActions: from the ticket page Ken writes an internal note, and
// Mary a reply that resolves the ticket, through the same door as mail: the
// thread shows them, the customer gets the reply (a notice queued in the
// same transaction) but never the note; an empty form changes nothing and
// says so; an agent who may not see the ticket gets 404 for the form too.
func TestTicketActions(t *testing.T) {
	r := newRig(t, nil)
	var tk *ticket.Ticket
	if err := r.org.Store.InTx(r.ctx, func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(r.ctx, ticket.NewTicket{Subject: "entire mobile online banking is down",
			Customer:     ticket.Contact{Email: "jane@user.com", Name: "Jane Doe"},
			DepartmentID: r.org.Help.ID, Message: ticket.Message{Body: "customers are reporting a 404 error"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ken := r.signIn()
	if err := r.org.Store.SetPassword(r.ctx, r.org.Mary.ID, kenPass); err != nil {
		t.Fatal(err)
	}
	mary := r.password("mary", kenPass, otherIP).session().Value
	post := func(cookie, remote string, form url.Values) resp {
		return r.do(req{method: "POST", path: "/tickets/" + tk.Number, cookie: cookie, remote: remote, form: form})
	}
	note := "coordinating with sys admin team to address critical system outage"
	if p := post(ken, "", url.Values{"text": {note}, "kind": {"note"}, "status": {"open"}}); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("Ken's note = %d\n%s", p.StatusCode, p.body)
	}
	if p := post(ken, "", url.Values{"text": {"  "}, "status": {"open"}}); p.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, `id="problem"`) {
		t.Errorf("an empty form = %d, want 422 with the problem shown", p.StatusCode)
	}
	if p := post(mary, otherIP, url.Values{"text": {"we discovered a failed load balancer"}, "status": {"resolved"}}); p.StatusCode != http.StatusNotFound {
		t.Errorf("Mary's reply before the transfer = %d, want 404", p.StatusCode)
	}
	if _, err := r.org.Store.Apply(r.ctx, tk.Number, ticket.AgentActor(r.org.Ken),
		ticket.Op{Kind: ticket.OpTransfer, Value: "System Administrators"}); err != nil {
		t.Fatal(err)
	}
	answer := "we discovered a failed load balancer. The issue has been fixed"
	if p := post(mary, otherIP, url.Values{"text": {answer}, "kind": {"reply"}, "status": {"resolved"}}); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("Mary's reply = %d\n%s", p.StatusCode, p.body)
	}
	got, err := r.org.Store.Get(r.ctx, tk.Number)
	if err != nil || got.Status != ticket.StatusResolved {
		t.Fatalf("status %v %v, want resolved", got, err)
	}
	p := r.do(req{method: "GET", path: "/tickets/" + tk.Number, cookie: mary, remote: otherIP})
	if !strings.Contains(p.body, note) || !strings.Contains(p.body, answer) || !strings.Contains(p.body, "Reply by") {
		t.Errorf("the thread lacks the note or the reply:\n%s", p.body)
	}
	// Jane hears of the reply, never of the note.
	var toJane []string
	rows, err := r.org.Store.Pool().Query(r.ctx, `SELECT template FROM outbound_mails WHERE ticket_id = $1 AND recipient = 'jane@user.com' ORDER BY id`, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tpl string
		_ = rows.Scan(&tpl)
		toJane = append(toJane, tpl)
	}
	rows.Close()
	if fmt.Sprint(toJane) != "[customer_ack customer_resolved]" {
		t.Errorf("notices to Jane %v, want the acknowledgement and the resolution carrying the reply", toJane)
	}
	// Cross-origin, the form is refused.
	p = r.do(req{method: "POST", path: "/tickets/" + tk.Number, cookie: ken, form: url.Values{"text": {"x"}},
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}})
	if p.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-origin post = %d, want 403", p.StatusCode)
	}
}
