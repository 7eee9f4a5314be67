package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reply_text as postdesk inspect prints it, end to end through Parse: the
// talon replies are whole MIME mails; the discourse bodies arrive wrapped in
// a plain mail, as a client would send them.
func TestReplyTextThroughParse(t *testing.T) {
	talon := corpusDir(t, "mailgun-talon")
	files, _ := filepath.Glob(filepath.Join(talon, "standard_replies", "*.eml"))
	pass := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want := "Hello"
		if b, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + "_reply_text"); err == nil {
			want = string(b)
		}
		if strings.TrimSpace(m.ReplyText) == strings.TrimSpace(want) {
			pass++
		} else {
			t.Logf("talon %s: reply_text %q, want %q", filepath.Base(f), m.ReplyText, strings.TrimSpace(want))
		}
	}
	t.Logf("talon standard_replies through Parse: %d of %d", pass, len(files))
	if len(files) == 0 || pass < len(files)-1 {
		t.Errorf("talon: %d of %d (at most the iphone case, whose expected text keeps its device signature, may differ)", pass, len(files))
	}

	disc := corpusDir(t, "discourse-email_reply_trimmer")
	files, _ = filepath.Glob(filepath.Join(disc, "emails", "*.txt"))
	pass = 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(disc, "trimmed", filepath.Base(f)))
		if err != nil {
			t.Fatal(err)
		}
		raw := "From: someone@example.com\r\nTo: support@example.com\r\nSubject: Re: help\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + string(body)
		m, err := Parse([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.TrimSpace(m.ReplyText) == strings.TrimSpace(string(want)) {
			pass++
		} else {
			t.Logf("discourse %s: reply_text %q, want %q", filepath.Base(f), m.ReplyText, strings.TrimSpace(string(want)))
		}
	}
	t.Logf("discourse through Parse: %d of %d", pass, len(files))
	if len(files) == 0 || pass != len(files) {
		t.Errorf("discourse through Parse: %d of %d", pass, len(files))
	}
}
