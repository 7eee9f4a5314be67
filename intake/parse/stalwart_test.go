package parse

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// sameText compares after CRLF→LF; a U+FFFD in the expected text (the
// reference parser's mark for undecodable 8-bit bytes, which we decode as
// Windows-1252 instead) matches any one character.
func sameText(got, want string) bool {
	got = strings.ReplaceAll(got, "\r\n", "\n")
	want = strings.ReplaceAll(want, "\r\n", "\n")
	if got == want {
		return true
	}
	if !strings.ContainsRune(want, utf8.RuneError) {
		return false
	}
	g, w := []rune(got), []rune(want)
	if len(g) != len(w) {
		return false
	}
	for i := range w {
		if w[i] != g[i] && w[i] != utf8.RuneError {
			return false
		}
	}
	return true
}

// squash normalises whitespace for the loose HTML-derived text comparison.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// stalwartFloor is the pass count per field this parser reaches; a
// regression below it fails the test.
var stalwartFloor = map[string]int{
	"sender": 71, "subject": 71, "message_id": 71, "in_reply_to": 71, "references": 71,
	"text": 63, "attachments": 63,
}

// readStalwart reads a mail of the stalwart corpus and, from the .json
// beside it, what the reference parser makes of it.
func readStalwart(t *testing.T, eml string) ([]byte, swMessage) {
	t.Helper()
	raw, err := os.ReadFile(eml)
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(strings.TrimSuffix(eml, ".eml") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var want swMessage
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatalf("%s: %v", eml, err)
	}
	return raw, want
}

// TestStalwartCorpus compares Parse with the expected parse shipped by the
// stalwart mail-parser corpus, on the LF-normalised mails (.json).
//
// Compared: the first From address and name; the subject; Message-ID,
// In-Reply-To and References; the text body (the text_body parts joined as
// Parse joins them, exactly, with U+FFFD in the expectation matching any
// character; when a listed part is HTML the expectation is rendered with our
// own htmlToText and both sides are compared whitespace-normalised); and
// the attachment list: same count, and per attachment the decoded size,
// plus the file name whenever the expectation has one (Parse names
// attached messages after their subject where the reference leaves them
// unnamed).
//
// Two documented differences are applied to the expectation, not to
// Parse: uuencoded files in a text body are extracted (Parse turns them
// into attachments, the reference leaves them in the text), and
// x-uuencode parts are uudecoded (the reference keeps them encoded). And
// when the expected text body is blank but an HTML body exists, the
// expectation is that HTML as text: Parse prefers it to an empty plain part.
func TestStalwartCorpus(t *testing.T) {
	dir := corpusDir(t, "stalwart-mail-parser")
	files := mustGlob(t, filepath.Join(dir, "*", "*.eml"))
	if len(files) == 0 {
		t.Fatalf("no .eml files in %s", dir)
	}
	pass := map[string]int{}
	for _, f := range files {
		name, _ := filepath.Rel(dir, f)
		raw, want := readStalwart(t, f)
		m, err := Parse(bytes.ReplaceAll(raw, []byte("\r"), nil))
		if err != nil {
			t.Errorf("%s: Parse: %v", name, err)
			continue
		}
		check := func(field string, ok bool, got, exp any) {
			if ok {
				pass[field]++
				return
			}
			t.Logf("miss %-11s %s: got %q want %q", field, name, got, exp)
		}
		scoreStalwart(m, want, check)
	}
	t.Logf("stalwart: %d mails; passes per field: %v", len(files), pass)
	for field, floor := range stalwartFloor {
		if pass[field] < floor {
			t.Errorf("%s: %d of %d pass, below the floor of %d", field, pass[field], len(files), floor)
		}
	}
}

// scoreStalwart compares one parsed mail with the stalwart expectation,
// calling check once per field (see TestStalwartCorpus for what is
// compared). The enmime comparison scores enmime's output with it too.
func scoreStalwart(m *Message, want swMessage, check func(field string, ok bool, got, exp any)) {
	root := want.Parts[0]
	check("sender", m.From == root.from(), m.From, root.from())
	check("subject", sameText(m.Subject, root.text("subject")), m.Subject, root.text("subject"))
	wantID := root.text("message_id")
	check("message_id", m.MessageID == wantID || (wantID == "" && m.SyntheticID), m.MessageID, wantID)
	check("in_reply_to", slices.Equal(m.InReplyTo, root.list("in_reply_to")), m.InReplyTo, root.list("in_reply_to"))
	check("references", slices.Equal(m.References, root.list("references")), m.References, root.list("references"))

	var texts []string
	var uu []uuFile
	loose := false
	for _, i := range want.TextBody {
		kind, text, _ := want.Parts[i].swBody()
		switch kind {
		case "Text":
			text, files := extractUuencoded(text)
			uu = append(uu, files...)
			texts = append(texts, text)
		case "Html":
			texts = append(texts, htmlToText(text))
			loose = true
		}
	}
	wantText := joinTexts(texts)
	if strings.TrimSpace(wantText) == "" {
		// Parse falls back to the HTML body when the plain one is empty.
		texts = texts[:0]
		for _, i := range want.HTMLBody {
			if kind, text, _ := want.Parts[i].swBody(); kind == "Html" {
				texts = append(texts, htmlToText(text))
				loose = true
			}
		}
		if loose {
			wantText = joinTexts(texts)
		}
	}
	if loose {
		check("text", squash(m.Text) == squash(wantText), m.Text, wantText)
	} else {
		check("text", sameText(m.Text, wantText), m.Text, wantText)
	}
	wantAtts := expectedAttachments(want, uu)
	check("attachments", sameAttachments(m.Attachments, wantAtts), attSummary(m.Attachments), expSummary(wantAtts))
}

// expAttachment is one attachment the reference expects.
type expAttachment struct {
	name    string // "" when the reference has no name
	size    int
	textual bool // the reference gives it charset-decoded
}

// expectedAttachments lists the reference's attachments, after the files
// Parse extracts from uuencoded text bodies (the reference leaves those in
// the text), in the order Parse produces them.
func expectedAttachments(m swMessage, uu []uuFile) []expAttachment {
	var out []expAttachment
	for _, f := range uu {
		out = append(out, expAttachment{name: f.name, size: len(f.data)})
	}
	for _, i := range m.Attachments {
		p := m.Parts[i]
		name := p.param("content_disposition", "filename")
		if name == "" {
			name = p.param("content_type", "name")
		}
		a := expAttachment{name: name, size: swExpectedSize(p)}
		if strings.EqualFold(p.text("content_transfer_encoding"), "x-uuencode") {
			// The reference leaves x-uuencode undecoded; Parse decodes it.
			a.size = swUudecodedSize(p)
		} else if kind, _, _ := p.swBody(); kind == "Text" || kind == "Html" {
			a.textual = true
		}
		out = append(out, a)
	}
	return out
}

func sameAttachments(got []Attachment, want []expAttachment) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if w.name != "" && !sameText(got[k].Filename, w.name) {
			return false
		}
		size := got[k].Size
		if w.textual {
			_, params := parseMediaType(got[k].ContentType)
			s, _ := decodeCharset(params["charset"], got[k].Content)
			size = len(s)
		}
		if size != w.size {
			return false
		}
	}
	return true
}

// swUudecodedSize decodes an expected x-uuencode body the way Parse does.
func swUudecodedSize(p swPart) int {
	_, text, bin := p.swBody()
	if bin == nil {
		bin = []byte(text)
	}
	f, ok := uudecodeBlock(bin)
	if !ok {
		return -1
	}
	return len(f.data)
}

func attSummary(list []Attachment) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.Filename+"|"+a.ContentType+"|"+itoa(a.Size))
	}
	return out
}

func expSummary(list []expAttachment) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.name+"|"+itoa(a.size))
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
