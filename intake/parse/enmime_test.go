package parse

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/jhillyerd/enmime/v2"
)

// The hand-written MIME code is kept only while it is faster than
// jhillyerd/enmime, the common Go choice, and at least as correct. These
// two tests measure both on the same mails: TestParseAgainstEnmime scores
// both with the stalwart expectations (the same comparison as
// TestStalwartCorpus), BenchmarkParseVsEnmime times them on the mails
// BenchmarkParse uses.

// fromEnmime maps enmime's envelope onto the fields the stalwart
// comparison reads. Header values pass through our own msg-id and address
// reading only where enmime hands back the raw field text.
func fromEnmime(env *enmime.Envelope) *Message {
	m := &Message{
		Subject:    env.GetHeader("Subject"),
		MessageID:  messageID(env.Root.Header.Get("Message-ID")),
		InReplyTo:  extractIDs(env.Root.Header.Get("In-Reply-To")),
		References: extractIDs(env.Root.Header.Get("References")),
		Text:       env.Text,
	}
	if m.MessageID == "" {
		m.SyntheticID = true
	}
	if from, err := env.AddressList("From"); err == nil && len(from) > 0 {
		m.From = Address{Name: from[0].Name, Address: from[0].Address}
	}
	for _, p := range append(append([]*enmime.Part{}, env.Attachments...), env.Inlines...) {
		m.Attachments = append(m.Attachments, Attachment{
			Filename: p.FileName, ContentType: p.ContentType, Size: len(p.Content), Content: p.Content,
		})
	}
	return m
}

// TestParseAgainstEnmime fails when enmime gets more fields right than
// Parse on the stalwart corpus: then the hand-written parser has no reason
// to exist. It logs both scores for the record.
func TestParseAgainstEnmime(t *testing.T) {
	dir := corpusDir(t, "stalwart-mail-parser")
	files := mustGlob(t, filepath.Join(dir, "*", "*.eml"))
	if len(files) == 0 {
		t.Fatalf("no .eml files in %s", dir)
	}
	ours, theirs := map[string]int{}, map[string]int{}
	var enmimeFailed int
	for _, f := range files {
		raw, want := readStalwart(t, f)
		lf := bytes.ReplaceAll(raw, []byte("\r"), nil)
		count := func(into map[string]int) func(string, bool, any, any) {
			return func(field string, ok bool, _, _ any) {
				if ok {
					into[field]++
					into["all"]++
				}
			}
		}
		if m, err := Parse(lf); err == nil {
			scoreStalwart(m, want, count(ours))
		}
		env, err := enmime.ReadEnvelope(bytes.NewReader(lf))
		if err != nil {
			enmimeFailed++
			continue
		}
		scoreStalwart(fromEnmime(env), want, count(theirs))
	}
	t.Logf("stalwart, %d mails, fields right: Parse %v; enmime %v (%d mails enmime refused)", len(files), ours, theirs, enmimeFailed)
	for field, n := range theirs {
		if ours[field] < n {
			t.Errorf("%s: enmime gets %d right, Parse only %d", field, n, ours[field])
		}
	}
}

// BenchmarkParseVsEnmime parses the BenchmarkParse mails with both parsers.
// Compare ns/op, B/op and allocs/op per mail between parser=postdesk and
// parser=enmime.
func BenchmarkParseVsEnmime(b *testing.B) {
	dir := corpusDir(b, "")
	for _, c := range benchParseCases {
		raw, err := os.ReadFile(filepath.Join(dir, c))
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(c)) + "/" + filepath.Base(c)
		b.Run("parser=postdesk/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parser=enmime/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enmime.ReadEnvelope(bytes.NewReader(raw)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
