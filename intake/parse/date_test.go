package parse

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339, "" for unreadable
	}{
		{"Mon, 06 Jan 2025 10:15:00 +0100", "2025-01-06T10:15:00+01:00"},
		{"6 Jan 2025 10:15 -0500", "2025-01-06T10:15:00-05:00"},
		{"Mon, 6 Jan 25 10:15:00 GMT", "2025-01-06T10:15:00Z"},
		{"Thu, 29 Apr 99 23:34:45 EDT", "1999-04-29T23:34:45-04:00"},
		{"Tue, 029 Apr 2019 23:34:45 -0800 (PST)", "2019-04-29T23:34:45-08:00"},
		{"Wed, 18 Jun 2003 11:14:38 +0400 (MSD)", "2003-06-18T11:14:38+04:00"},
		{"Thursday, Apr 29, 2008 2:45:56 PM", "2008-04-29T14:45:56Z"},
		{"Mon Jan  6 10:15:00 2025", "2025-01-06T10:15:00Z"},
		{"2025-01-06T10:15:00Z", "2025-01-06T10:15:00Z"},
		{"2025-01-06 10:15:00 +0200", "2025-01-06T10:15:00+02:00"},
		{"6 Jan 2025 10:15:00 GMT+0200", "2025-01-06T10:15:00+02:00"},
		{"Tue, 7 Apr 2026 10:00:t", ""},
		{"31 Feb 2025 10:00:00 +0000", ""},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := parseDate(tc.in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339)
		}
		if s != tc.want {
			t.Errorf("parseDate(%q) = %q, want %q", tc.in, s, tc.want)
		}
	}
}
