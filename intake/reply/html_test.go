package reply

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func deleteSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// TestTalonHTMLReplies: every HTML reply in talon's fixtures says the same.
func TestTalonHTMLReplies(t *testing.T) {
	dir := corpusDir(t, "mailgun-talon")
	files, err := filepath.Glob(filepath.Join(dir, "html_replies", "*.html"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no html replies in %s (%v)", dir, err)
	}
	want := deleteSpace("Hi. I am fine.\n\nThanks,\nAlex")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := TrimHTML(readFile(t, f))
			if deleteSpace(got) != want {
				t.Errorf("TrimHTML = %q, want %q (whitespace ignored)", got, "Hi. I am fine.\n\nThanks,\nAlex")
			}
		})
	}
}

func TestTrimHTMLClients(t *testing.T) {
	const want = "Works now.\n\nThanks,\nJane"
	tests := []struct{ name, in string }{
		{"gmail", `<div dir="ltr">Works now.<div><br></div><div>Thanks,</div><div>Jane</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, Mar 12, 2024 at 10:15 AM Support &lt;<a href="mailto:s@example.com">s@example.com</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Did it work?</blockquote></div>`},
		{"gmail signature", `<div dir="ltr">Works now.<div><br></div><div>Thanks,</div><div>Jane</div><div><br></div>-- <br><div dir="ltr" class="gmail_signature">Jane Doe | ACME</div></div>`},
		{"outlook web", `<div>Works now.</div><div><br></div><div>Thanks,</div><div>Jane</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Support<br><b>Sent:</b> Tuesday<br><b>Subject:</b> Printer</div><div>Did it work?</div>`},
		{"hr before header", `<p>Works now.</p><p>Thanks,<br>Jane</p><hr><p><b>From:</b> Support<br><b>Sent:</b> Tuesday</p><p>Did it work?</p>`},
		{"yahoo", `<div>Works now.</div><div><br></div><div>Thanks,<br>Jane</div><div class="yahoo_quoted"><div>On Tuesday, March 12, 2024, 10:15:00 AM GMT+1, Support &lt;s@example.com&gt; wrote:</div><blockquote>Did it work?</blockquote></div>`},
		{"apple", `<html><body dir="auto">Works now.<div><br></div><div>Thanks,</div><div>Jane<br><div><br><blockquote type="cite">On 12 Mar 2024, at 10:15, Support &lt;s@example.com&gt; wrote:<br><br></blockquote></div><blockquote type="cite"><div>Did it work?</div></blockquote></div></body></html>`},
		{"thunderbird", `<html><body><p>Works now.</p><p>Thanks,<br>Jane</p><div class="moz-cite-prefix">On 12.03.24 10:15, Support wrote:<br></div><blockquote type="cite" cite="mid:x@example.com">Did it work?</blockquote></body></html>`},
		{"thunderbird bottom-post", `<html><body><div class="moz-cite-prefix">On 12.03.24 10:15, Support wrote:<br></div><blockquote type="cite">Did it work?</blockquote><p>Works now.</p><p>Thanks,<br>Jane</p></body></html>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TrimHTML(tc.in)
			if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(want), " ") {
				t.Errorf("TrimHTML = %q, want %q", got, want)
			}
		})
	}
}

func TestTrimHTMLText(t *testing.T) {
	in := `<html><head><title>x</title><style>p{}</style></head><body><p>See <a href="https://example.com/kb/1">the article</a>&nbsp;and&nbsp;reply.</p><pre>line 1
  line 2</pre><ul><li>one</li><li>two</li></ul><script>alert(1)</script></body></html>`
	want := "See the article <https://example.com/kb/1> and reply.\n\nline 1\n  line 2\none\ntwo"
	if got := TrimHTML(in); got != want {
		t.Errorf("TrimHTML = %q, want %q", got, want)
	}
}

// TestTrimHTMLForwardWithoutComment: with nothing written above a forward,
// the forwarded mail is the content, as in plain text.
func TestTrimHTMLForwardWithoutComment(t *testing.T) {
	for name, in := range map[string]string{
		"gmail":   `<div dir="ltr"><br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <b>Jane</b> &lt;jane@example.com&gt;<br>Date: Tue, Mar 12, 2024 at 10:15 AM<br>Subject: Printer<br>To: &lt;desk@example.com&gt;<br></div><br><div dir="ltr">The printer is on fire.</div></div></div>`,
		"outlook": `<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Jane<br><b>Sent:</b> Tuesday<br><b>To:</b> Desk<br><b>Subject:</b> Printer</div><div>The printer is on fire.</div>`,
	} {
		if got := TrimHTML(in); got != "The printer is on fire." {
			t.Errorf("%s: TrimHTML = %q", name, got)
		}
	}
}
