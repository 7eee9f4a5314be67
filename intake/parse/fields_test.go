package parse

import (
	"slices"
	"testing"
)

func TestDecodeWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"=?UTF-8?B?w6lsw6h2ZQ==?=", "élève"},
		{"=?iso-8859-1?q?caf=E9?= =?iso-8859-1?q?_au_lait?=", "café au lait"},
		{"Re: =?utf-8?q?h=C3=A9?= there", "Re: hé there"},
		// A multi-byte character split across two words.
		{"=?UTF-8?B?5pel?= =?UTF-8?B?5pys?=", "日本"},
		{"=?UTF-8?Q?a?=\n =?UTF-8?Q?b?=", "ab"},
		{"=?utf-8*en?q?lang?=", "lang"},
		{"=?utf-8?q?unclosed", "=?utf-8?q?unclosed"},
	}
	for _, tc := range tests {
		got, err := decodeWords(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("decodeWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseMediaType(t *testing.T) {
	tests := []struct {
		in     string
		value  string
		params map[string]string
	}{
		{`text/plain; charset="UTF-8"; format=flowed`, "text/plain", map[string]string{"charset": "UTF-8", "format": "flowed"}},
		{"multipart/mixed\tboundary=\"b1\"", "multipart/mixed", map[string]string{"boundary": "b1"}},
		{`attachment; filename=my report.pdf`, "attachment", map[string]string{"filename": "my report.pdf"}},
		{`attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt`, "attachment", map[string]string{"filename": "Grüße.txt"}},
		{`attachment; filename*0="long"; filename*1="name.txt"; filename="fallback.txt"`, "attachment", map[string]string{"filename": "longname.txt"}},
		{`inline; filename="unterminated`, "inline", map[string]string{"filename": "unterminated"}},
		{`;`, "", map[string]string{}},
		{`Text/HTML; Charset=ISO-8859-1`, "text/html", map[string]string{"charset": "ISO-8859-1"}},
	}
	for _, tc := range tests {
		v, params := parseMediaType(tc.in)
		if v != tc.value || len(params) != len(tc.params) {
			t.Errorf("parseMediaType(%q) = %q %v, want %q %v", tc.in, v, params, tc.value, tc.params)
			continue
		}
		for k, want := range tc.params {
			if params[k] != want {
				t.Errorf("parseMediaType(%q)[%s] = %q, want %q", tc.in, k, params[k], want)
			}
		}
	}
}

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		{`"Doe, Jane" <jane@example.com>, bob@example.org`, []Address{{"Doe, Jane", "jane@example.com"}, {"", "bob@example.org"}}},
		{`=?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>`, []Address{{"Jörg", "joerg@example.de"}}},
		{`postmaster@example.com (Mail Admin)`, []Address{{"Mail Admin", "postmaster@example.com"}}},
		{`MAILER-DAEMON`, []Address{{"", "MAILER-DAEMON"}}},
		{`Moderator-Address <moderator>`, []Address{{"Moderator-Address", "moderator"}}},
		{`Team: a@x.example, b@y.example;`, []Address{{"", "a@x.example"}, {"", "b@y.example"}}},
		{`Jane Doe jane@example.com`, []Address{{"Jane Doe", "jane@example.com"}}},
		{`pete(his account)@silly.test(his host)`, []Address{{"", "pete@silly.test"}}},
		{`Pete(A nice \) chap) <pete(his account)@silly.test(his host)>`, []Address{{"Pete", "pete@silly.test"}}},
		{`a@ example . com`, []Address{{"", "a@example.com"}}},
		{`John Doe <jdoe@machine(comment).  example>`, []Address{{"John Doe", "jdoe@machine.example"}}},
		{`"=?utf-8?q?J=C3=BCrgen?=" <j@x.example>`, []Address{{"Jürgen", "j@x.example"}}},
		{`jane@example.com (Jane Doe), "Ken (Support)" <ken@example.com>`, []Address{{"Jane Doe", "jane@example.com"}, {"Ken (Support)", "ken@example.com"}}},
		{``, nil},
	}
	for _, tc := range tests {
		if got := parseAddressList(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("parseAddressList(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestExtractIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@x> <b@y>", []string{"a@x", "b@y"}},
		{"<a@x>\n\t<b@y> <a@x>", []string{"a@x", "b@y"}},
		{"a@x, b@y", []string{"a@x", "b@y"}},
		{"Your message of Monday <a@x>", []string{"a@x"}},
		{"<a@x <b@y>", []string{"a@x", "b@y"}},
		{"<broken@x", []string{"broken@x"}},
		{"no ids here", nil},
	}
	for _, tc := range tests {
		if got := extractIDs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("extractIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := messageID("12345"); got != "12345" {
		t.Errorf("messageID without brackets = %q", got)
	}
}

func TestNormalizeNewlines(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\r\nb\r\n", "a\nb\n"},
		{"a\rb\rc\r", "a\nb\nc\n"},
		{"a\nb\rc\n", "a\nb\rc\n"}, // a stray CR in LF mail is content
	}
	for _, tc := range tests {
		if got := string(normalizeNewlines([]byte(tc.in))); got != tc.want {
			t.Errorf("normalizeNewlines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeTransfer(t *testing.T) {
	p := &parser{}
	if got := string(p.decodeTransfer("quoted-printable", []byte("caf=C3=A9 =\nsoft, 100%=3D sure, a=b  \n"))); got != "café soft, 100%= sure, a=b\n" {
		t.Errorf("quoted-printable: %q", got)
	}
	if got := string(p.decodeTransfer("base64", []byte("aGVs\nbG8=\n"))); got != "hello" {
		t.Errorf("base64: %q", got)
	}
	if got := string(p.decodeTransfer("base64", []byte("aGVsbG8=aGk="))); got != "hellohi" {
		t.Errorf("glued base64 chunks: %q", got)
	}
	if got := string(p.decodeTransfer("base64", []byte("... not base64 at all ..."))); got != "... not base64 at all ..." {
		t.Errorf("mislabelled base64 not kept: %q", got)
	}
	if got := string(p.decodeTransfer("x-unknown", []byte("raw"))); got != "raw" || len(p.problems) == 0 {
		t.Errorf("unknown encoding: %q, problems %q", got, p.problems)
	}
}
