package ticket_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// TestSearch: full-text search over number, subject, message text and
// customer, with the operators, ranking, snippets and the agent's scope,
// against real PostgreSQL.
func TestSearch(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	open := func(subject, email, name, body string, dept int64) *ticket.Ticket {
		t.Helper()
		var tk *ticket.Ticket
		if err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
			var err error
			tk, _, err = tx.Open(ctx, ticket.NewTicket{Subject: subject, Customer: ticket.Contact{Email: email, Name: name},
				DepartmentID: dept, Message: ticket.Message{Body: body}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	outage := open("entire mobile online banking is down", "jane@user.com", "Jane Doe",
		"customers are reporting a 404 error when browsing to online banking", f.help.ID)
	balancer := open("load balancer replaced", "ops@vendor.example", "Vendor Ops",
		"we discovered a failed load balancer; banking traffic moved to the spare", f.sys.ID)
	card := open("card blocked", "bob@user.com", "Bob Smith", "my card was blocked at the checkout", f.help.ID)
	all := ticket.SearchScope{All: true}
	numbers := func(scope ticket.SearchScope, query string) []string {
		t.Helper()
		q, err := ticket.ParseSearch(query)
		if err != nil {
			t.Fatalf("%q: %v", query, err)
		}
		hits, err := f.store.Search(ctx, scope, q, 10)
		if err != nil {
			t.Fatalf("%q: %v", query, err)
		}
		var out []string
		for _, h := range hits {
			out = append(out, h.Number)
		}
		return out
	}
	want := func(query string, scope ticket.SearchScope, tks ...*ticket.Ticket) {
		t.Helper()
		var w []string
		for _, tk := range tks {
			w = append(w, tk.Number)
		}
		if got := numbers(scope, query); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("search %q: %v, want %v", query, got, w)
		}
	}
	want("reported", all, outage)            // stemmed: "reporting"
	want("banking", all, outage, balancer)   // subject and text rank above text alone
	want(`"load balancer"`, all, balancer)   // a phrase
	want("banking -balancer", all, outage)   // not
	want("from:user.com", all, card, outage) // a fragment of the address; newest first without words
	want("from:smith", all, card)            // the name
	want("subject:blocked", all, card)       // the subject only
	want("blocked subject:balancer", all)    // both must hold
	want(outage.Number, all, outage)         // the number
	want("number:"+outage.Number[:3], all, numberSorted(outage, balancer, card, outage.Number[:3])...)
	want("status:open banking", all, outage, balancer) // with a filter
	want("status:resolved banking", all)
	// Ken sees his department's tickets; Mary hers and the ones assigned to her.
	want("banking", ticket.SearchScope{Departments: []int64{f.help.ID}, AgentID: f.ken.ID}, outage)
	want("banking", ticket.SearchScope{Departments: []int64{f.sys.ID}, AgentID: f.mary.ID}, balancer)

	if _, err := ticket.ParseSearch("status:pending x"); !errors.Is(err, ticket.ErrInvalid) {
		t.Errorf("an unknown status: %v", err)
	}

	// The snippet marks the words found in the best message.
	q, _ := ticket.ParseSearch("404 error")
	hits, err := f.store.Search(ctx, all, q, 10)
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Snippet, ticket.SnippetStart+"404"+ticket.SnippetStop) ||
		hits[0].CustomerEmail != "jane@user.com" || hits[0].Department != "Help Desk" {
		t.Fatalf("snippet: %+v %v", hits, err)
	}

	// A message is found in the transaction that stores it, and one whose
	// transaction rolled back never is.
	sentinel := errors.New("roll back")
	err = f.store.InTx(ctx, func(tx *ticket.Tx) error {
		tk, err := tx.LockNumber(ctx, card.Number)
		if err != nil {
			return err
		}
		if _, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindCustomer, Body: "the terminal printed code zx81q",
			Author: ticket.Actor{Kind: ticket.ActorCustomer, Email: "bob@user.com"}}); err != nil {
			return err
		}
		q, _ := ticket.ParseSearch("zx81q")
		if hits, err := ticket.Search(ctx, tx.DB(), all, q, 10); err != nil || len(hits) != 1 || hits[0].Number != card.Number {
			t.Errorf("in its own transaction: %+v %v", hits, err)
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatal(err)
	}
	want("zx81q", all)
}

// numberSorted lists the tickets whose number holds part, as a search with
// no words sorts them: most recently changed first.
func numberSorted(newestLast ...any) []*ticket.Ticket {
	part := newestLast[len(newestLast)-1].(string)
	var out []*ticket.Ticket
	for i := len(newestLast) - 2; i >= 0; i-- {
		tk := newestLast[i].(*ticket.Ticket)
		if strings.Contains(tk.Number, part) {
			out = append(out, tk)
		}
	}
	return out
}
