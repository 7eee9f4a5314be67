package parse

import (
	"strings"
	"testing"
)

// The tests in this file cover failure classes first seen in real mail
// that the corpora did not hold (issue 12, point 8). Each testdata mail
// says in its Comments field what public source it was modelled on.

// TestReplyTextKeepsOnlyQuote: a reply that is nothing but a quote keeps
// its text as the reply rather than an empty one.
func TestReplyTextKeepsOnlyQuote(t *testing.T) {
	m, _ := parseFile(t, "only-quote-reply.eml")
	if got, want := m.ReplyText, strings.TrimSpace(m.Text); got != want || got == "" {
		t.Errorf("ReplyText = %q, want the whole text %q", got, want)
	}
}
