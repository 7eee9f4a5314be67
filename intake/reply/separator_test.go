package reply

import (
	"strings"
	"testing"
)

const notice = "Ticket #42 \"Printer on fire\" was updated by Bob (Support):\n\nHave you tried turning it off?\n\nView it at https://desk.example.com/t/42"

// quote prefixes every line of s with "> ", as mail clients do.
func quote(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("> "+l, " ")
	}
	return strings.Join(lines, "\n")
}

func TestSeparator(t *testing.T) {
	attribution := "On Tue, Mar 12, 2024 at 10:15 AM Example Desk <support@desk.example.com> wrote:"
	tests := []struct{ name, in, want string }{
		{"quoted with attribution",
			"Yes, and now it smokes.\n\n" + attribution + "\n\n" + quote(Separator+"\n\n"+notice), "Yes, and now it smokes."},
		{"quoted without attribution",
			"Yes, and now it smokes.\n\n" + quote(Separator+"\n\n"+notice), "Yes, and now it smokes."},
		{"not quoted",
			"Yes, and now it smokes.\n\n" + Separator + "\n\n" + notice, "Yes, and now it smokes."},
		{"not quoted with attribution",
			"Yes, and now it smokes.\n\n" + attribution + "\n" + Separator + "\n\n" + notice, "Yes, and now it smokes."},
		{"quoted twice",
			"Yes.\n\n" + quote(quote(Separator+"\n\n"+notice)), "Yes."},
		{"other punctuation",
			"Yes.\n\n> -- Please type your reply above this line --\n>\n> " + notice, "Yes."},
		{"other spacing and case",
			"Yes.\n\n>##-please  type your reply ABOVE this line-##\n> " + notice, "Yes."},
		{"with device signature",
			"Yes.\n\nSent from my iPhone\n\n" + attribution + "\n\n" + quote(Separator+"\n\n"+notice), "Yes."},
		{"outlook header above",
			"Yes.\n\nFrom: Example Desk <support@desk.example.com>\nSent: Tuesday, March 12, 2024 10:15 AM\nTo: Jane\nSubject: [#42] Printer on fire\n\n" + Separator + "\n\n" + notice, "Yes."},
		{"bottom-posted below the quoted notice",
			attribution + "\n" + quote(Separator+"\n\n"+notice) + "\n\nYes, and now it smokes.", "Yes, and now it smokes."},
		{"empty reply above an unquoted notice",
			"\n\n" + Separator + "\n\n" + notice, ""},
		{"empty reply above a quoted notice",
			attribution + "\n\n" + quote(Separator+"\n\n"+notice), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vis, el := Trim(tc.in)
			if vis != tc.want {
				t.Errorf("visible = %q, want %q", vis, tc.want)
			}
			if !strings.Contains(el, "Have you tried turning it off?") {
				t.Errorf("elided = %q, want the notice in it", el)
			}
		})
	}
}

// TestNoSeparatorKeepsText: a plain reply without any separator is whole.
func TestNoSeparatorKeepsText(t *testing.T) {
	in := "Hello,\n\nmy printer shows error 42 since this morning.\nI already restarted it twice.\n\nRegards,\nJane Doe\n"
	vis, el := Trim(in)
	if vis != strings.TrimSpace(in) || el != "" {
		t.Errorf("visible %q, elided %q", vis, el)
	}
}
