package parse

import "testing"

// TestPeopleThroughAListAreNoRejection: a customer's mail that a list (a
// support address that is a Google Group) passed on carries list headers,
// and an address such as web-admin@ looks like a list's administrative
// one; with words like "refused" in it, it used to be read as a list
// manager's rejection, a bounce, and so never reached a ticket. Only mail a
// machine of the list's own domain wrote is one.
func TestPeopleThroughAListAreNoRejection(t *testing.T) {
	for _, c := range []struct{ name, raw string }{
		{"google group", "From: Web Admin <web-admin@customer.example>\r\nTo: support@bank.example\r\n" +
			"Subject: My login is refused\r\nMessage-ID: <p1@customer.example>\r\nList-Id: <support.bank.example>\r\n" +
			"Precedence: list\r\nList-Post: <mailto:support@bank.example>\r\n\r\n" +
			"Since this morning my login is refused with error 403. Please help.\r\n"},
		{"x-loop", "From: ops-admin@shop.example\r\nTo: support@bank.example\r\nSubject: card was rejected\r\n" +
			"Message-ID: <p2@shop.example>\r\nX-Loop: shop-helpdesk\r\n\r\nOur company card was rejected at checkout.\r\n"},
	} {
		m, err := Parse([]byte(c.raw))
		if err != nil {
			t.Fatal(err)
		}
		if m.Class == ClassBounce {
			t.Errorf("%s: a person's mail is classed a bounce (%+v)", c.name, m.Bounce)
		}
	}
	// A list manager's own rejection still is one.
	m, err := Parse([]byte("From: team-owner@lists.example.org\r\nTo: support@bank.example\r\n" +
		"Subject: Your message to team was rejected\r\nMessage-ID: <r1@lists.example.org>\r\n" +
		"List-Id: Team <team.lists.example.org>\r\nAuto-Submitted: auto-replied\r\n\r\n" +
		"Your message to the team list was rejected: you are not a member.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Class != ClassBounce || m.Bounce == nil || m.Bounce.Recipient != "team@lists.example.org" {
		t.Errorf("a list manager's rejection: class %s, bounce %+v", m.Class, m.Bounce)
	}
}
