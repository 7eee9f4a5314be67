package parse

import (
	"bytes"
	"errors"
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
	parsed, refused, foundName := 0, 0, false
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(raw)
		if !startsWithField(raw) {
			if !errors.Is(err, ErrNotMail) {
				t.Errorf("%s: no header, want ErrNotMail, got %v", rel, err)
			}
			refused++
			continue
		}
		if err != nil {
			t.Errorf("%s: Parse: %v", rel, err)
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
	t.Logf("rt: %d files, %d parsed, %d refused as not mail", len(files), parsed, refused)
}

// startsWithField reports whether raw begins with a "Name:" header line.
func startsWithField(raw []byte) bool {
	line, _ := nextLine(raw, 0)
	_, _, ok := splitField(bytes.TrimRight(line, "\r"))
	return ok
}
