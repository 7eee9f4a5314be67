package ticket_test

import (
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

func TestNumberingToken(t *testing.T) {
	def := ticket.DefaultNumbering()
	custom, err := ticket.NewNumbering(8, "PD-", "(Ticket {number})")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n       ticket.Numbering
		subject string
		want    string
	}{
		{def, "Re: [#123456] entire mobile online banking is down", "123456"},
		{def, "AW: Re: [# 123456 ] down", "123456"},
		{def, "[#12345] too short", ""},
		{def, "[#1234567] too long", ""},
		{def, "no token 123456", ""},
		{custom, "Re: (Ticket PD-12345678) hello", "PD-12345678"},
		{custom, "Re: (ticket pd-12345678) hello", "PD-12345678"},
		{custom, "Re: [#123456] hello", ""},
	} {
		got, ok := tc.n.FindToken(tc.subject)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("FindToken(%q) = %q, %v; want %q", tc.subject, got, ok, tc.want)
		}
	}
	n, err := custom.New()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := custom.FindToken(custom.Subject(n, "Re: hello")); !ok || got != n {
		t.Fatalf("token of new number %s not found again (%q)", n, got)
	}
	if s := def.Subject("123456", "Re: [#123456] x"); s != "Re: [#123456] x" {
		t.Fatalf("token added twice: %q", s)
	}
	for _, bad := range []struct {
		length int
		token  string
	}{{3, "[#{number}]"}, {13, "[#{number}]"}, {6, "[#]"}} {
		if _, err := ticket.NewNumbering(bad.length, "", bad.token); err == nil {
			t.Errorf("NewNumbering(%d, %q) accepted", bad.length, bad.token)
		}
	}
}
