package reply

import "testing"

func TestExtractEmbedded(t *testing.T) {
	tests := []struct{ name, in, before, embedded string }{
		{"gmail forward",
			"FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Jane <jane@example.com>\nDate: Tue, Mar 12, 2024 at 10:15 AM\nSubject: Printer\nTo: <desk@example.com>\n\nIt is on fire.\n",
			"FYI, see below.",
			"From: Jane <jane@example.com>\nDate: Tue, Mar 12, 2024 at 10:15 AM\nSubject: Printer\nTo: <desk@example.com>\n\nIt is on fire."},
		{"outlook reply",
			"Done.\n________________________________\nVon: Support <s@example.com>\nGesendet: Dienstag\nAn: Jane\nBetreff: Drucker\n\nBitte neu starten.",
			"Done.",
			"Von: Support <s@example.com>\nGesendet: Dienstag\nAn: Jane\nBetreff: Drucker\n\nBitte neu starten."},
		{"apple forward without header block",
			"Look at this.\n\nBegin forwarded message:\n\nThe printer is on fire.",
			"Look at this.",
			"The printer is on fire."},
		{"attribution",
			"Yes.\n\nOn Tue, Mar 12, 2024 at 10:15 AM Jane <jane@example.com> wrote:\n> Does it work?",
			"Yes.",
			"On Tue, Mar 12, 2024 at 10:15 AM Jane <jane@example.com> wrote:\n> Does it work?"},
		{"nothing embedded", "Just text.\n\nMore text.\n", "Just text.\n\nMore text.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, embedded := ExtractEmbedded(tc.in)
			if before != tc.before || embedded != tc.embedded {
				t.Errorf("got before %q, embedded %q\nwant before %q, embedded %q", before, embedded, tc.before, tc.embedded)
			}
		})
	}
}
