package reply

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // non-UTF-8 charsets
	"github.com/emersion/go-message/mail"
)

// Minimum pass counts reached on talon's fixtures; a regression fails.
const (
	talonMinExact      = 7
	talonMinPolicy     = 8
	talonMinSignatures = 1
)

// firstTextPlain returns the decoded body of the first text/plain part.
func firstTextPlain(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	mr, err := mail.CreateReader(f)
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatalf("%s: create reader: %v", path, err)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			t.Fatalf("%s: next part: %v", path, err)
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		ct, _, _ := h.ContentType()
		if ct != "" && ct != "text/plain" {
			continue
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("%s: read body: %v", path, err)
		}
		return string(b)
	}
	t.Fatalf("%s: no text/plain part", path)
	return ""
}

// TestTalonStandardReplies compares Trim with talon's expected reply text
// ("Hello" unless a <name>_reply_text file says otherwise). talon keeps
// device signatures, Trim removes them by design, so a miss is also checked
// against the expected text with Trim's signature policy applied.
func TestTalonStandardReplies(t *testing.T) {
	dir := corpusDir(t, "mailgun-talon")
	files, err := filepath.Glob(filepath.Join(dir, "standard_replies", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no standard replies in %s (%v)", dir, err)
	}
	exact, policy := 0, 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		want := "Hello"
		if b, ok := optionalFile(t, filepath.Join(dir, "standard_replies", name+"_reply_text")); ok {
			want = strings.TrimSpace(b)
		}
		got, _ := Trim(firstTextPlain(t, f))
		switch wantTrimmed, _ := Trim(want); {
		case got == want:
			exact++
			policy++
		case got == wantTrimmed:
			policy++
			t.Logf("%s: differs only by the signature Trim removes: got %q, talon wants %q", name, got, want)
		default:
			t.Logf("%s: got %q, want %q", name, got, want)
		}
	}
	t.Logf("talon standard_replies: exact %d of %d; equal after removing device signatures from the expectation %d of %d",
		exact, len(files), policy, len(files))
	if exact < talonMinExact || policy < talonMinPolicy {
		t.Errorf("regression: exact %d (min %d), after signature policy %d (min %d) of %d",
			exact, talonMinExact, policy, talonMinPolicy, len(files))
	}
}

// TestTalonSignatures: Trim should cut the expected signature where it is
// one Trim can recognise without knowing the sender. These bodies mostly end
// in a plain name or a valediction, so this only reports the rate.
func TestTalonSignatures(t *testing.T) {
	dir := corpusDir(t, "mailgun-talon")
	files, err := filepath.Glob(filepath.Join(dir, "signature_stripped", "*_body"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no signature cases in %s (%v)", dir, err)
	}
	ok := 0
	for _, f := range files {
		base := strings.TrimSuffix(f, "_body")
		body := readFile(t, f)
		sig := readFile(t, base+"_signature")
		trimmed := strings.TrimSpace(body)
		want := strings.TrimSpace(trimmed[:len(trimmed)-len(sig)])
		if len(sig) > len(trimmed) {
			t.Fatalf("%s: signature longer than body", base)
		}
		got, _ := Trim(body)
		if got == want {
			ok++
		} else {
			t.Logf("%s: signature not removed: got tail %q", filepath.Base(base), tail(got, 60))
		}
	}
	t.Logf("talon signature_stripped: %d of %d", ok, len(files))
	if ok < talonMinSignatures {
		t.Errorf("regression: %d of %d, minimum %d", ok, len(files), talonMinSignatures)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
