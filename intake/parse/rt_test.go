package parse

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestBestPracticalRT feeds RT's inbound-mail fixtures: every mail parses
// with a sender and a decoded UTF-8 subject; a file with no header at all
// is refused as not a mail. The RFC 2231 continuation case must give RT's
// expected Japanese file name.
func TestBestPracticalRT(t *testing.T) {
	dir := corpusDir(t, "bestpractical-rt")
	files := mustGlob(t, filepath.Join(dir, "emails", "*"))
	if len(files) == 0 {
		t.Fatalf("no mails under %s", dir)
	}
	const wantName = "新しいテキスト ドキュメント.txt"
	parsed, headerless, foundName := 0, 0, false
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(raw)
		if err != nil {
			t.Errorf("%s: Parse: %v", rel, err)
			continue
		}
		if !startsWithField(raw) {
			// Headerless: read as a body, with the problem noted.
			if m.From.Address != "" || !strings.Contains(strings.Join(m.Problems, "\n"), "no header section") ||
				strings.TrimSpace(m.Text) == "" {
				t.Errorf("%s: headerless mail: from %q, problems %q, %d bytes of text", rel, m.From.Address, m.Problems, len(m.Text))
			}
			headerless++
			continue
		}
		parsed++
		if m.From.Address == "" {
			t.Errorf("%s: empty sender", rel)
		}
		if strings.TrimSpace(m.Subject) == "" || !utf8.ValidString(m.Subject) || strings.Contains(m.Subject, "=?") {
			t.Errorf("%s: subject %q not decoded", rel, m.Subject)
		}
		for _, a := range m.Attachments {
			if a.Filename == wantName {
				foundName = true
			}
		}
	}
	if !foundName {
		t.Errorf("no attachment named %q", wantName)
	}
	t.Logf("rt: %d files, %d parsed with a header, %d headerless read as body only", len(files), parsed, headerless)
}

// startsWithField reports whether raw begins with a "Name:" header line.
func startsWithField(raw []byte) bool {
	line, _ := nextLine(raw, 0)
	_, _, ok := splitField(bytes.TrimRight(line, "\r"))
	return ok
}
