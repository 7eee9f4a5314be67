package parse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// parseFile parses testdata/name.
func parseFile(t *testing.T, name string) (*Message, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(raw)
	if err != nil {
		t.Fatalf("%s: Parse: %v", name, err)
	}
	return m, raw
}

func TestSyntheticMails(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m *Message, raw []byte)
	}{
		{"no-message-id.eml", func(t *testing.T, m *Message, raw []byte) {
			if !m.SyntheticID || !strings.HasPrefix(m.MessageID, "sha256-") || !strings.HasSuffix(m.MessageID, "@postdesk.invalid") {
				t.Fatalf("MessageID %q (synthetic %v), want a sha256-...@postdesk.invalid id", m.MessageID, m.SyntheticID)
			}
			again, err := Parse(bytes.Clone(raw))
			if err != nil || again.MessageID != m.MessageID {
				t.Errorf("same bytes gave %q then %q", m.MessageID, again.MessageID)
			}
			other, _ := parseFile(t, "no-message-id-other.eml")
			if other.MessageID == m.MessageID {
				t.Errorf("different mails share the synthetic id %q", m.MessageID)
			}
		}},
		{"empty-message-id.eml", func(t *testing.T, m *Message, raw []byte) {
			sum := sha256.Sum256(raw)
			if want := "sha256-" + hex.EncodeToString(sum[:]) + "@postdesk.invalid"; m.MessageID != want || !m.SyntheticID {
				t.Errorf("MessageID %q, want %q", m.MessageID, want)
			}
		}},
		{"malformed-references.eml", func(t *testing.T, m *Message, _ []byte) {
			if want := []string{"orig@example.net"}; !slices.Equal(m.InReplyTo, want) {
				t.Errorf("InReplyTo %q, want %q", m.InReplyTo, want)
			}
			if want := []string{"a@example.net", "b@example.net", "c@example.net"}; !slices.Equal(m.References, want) {
				t.Errorf("References %q, want %q", m.References, want)
			}
			if m.MessageID != "reply-1@example.com" {
				t.Errorf("MessageID %q", m.MessageID)
			}
		}},
		{"subject-iso-2022-jp.eml", func(t *testing.T, m *Message, _ []byte) {
			wantEqual(t, "Subject", m.Subject, "テストです")
			wantEqual(t, "Text", m.Text, "こんにちは、世界\n")
		}},
		{"subject-windows-1252.eml", func(t *testing.T, m *Message, _ []byte) {
			wantEqual(t, "Subject", m.Subject, "Café “menu” €")
		}},
		{"subject-unknown-charset.eml", func(t *testing.T, m *Message, _ []byte) {
			wantEqual(t, "Subject", m.Subject, "=?x-klingon?Q?Qapla=27?=")
			wantProblem(t, m, "x-klingon")
		}},
		{"subject-koi8r-undeclared.eml", func(t *testing.T, m *Message, _ []byte) {
			wantEqual(t, "Subject", m.Subject, "тест связи")
			wantEqual(t, "Text", m.Text, "Привет\n")
		}},
		{"subject-8bit-multipart-sjis.eml", func(t *testing.T, m *Message, _ []byte) {
			wantEqual(t, "Subject", m.Subject, "請求書について")
			wantEqual(t, "From.Name", m.From.Name, "市川")
			wantEqual(t, "Text", m.Text, "よろしくお願いします。")
			wantEqual(t, "HTML", m.HTML, "<p>よろしくお願いします。</p>")
		}},
		{"html-only.eml", func(t *testing.T, m *Message, _ []byte) {
			want := "Hello World,\n\nLine one\nLine two\n\n- first item\n- second item\n\n1. step\n2. next step\n\n" +
				"See the docs (https://example.com/docs) or help@example.net.\n\n> Quoted text\n\nBye now\n"
			wantEqual(t, "Text", m.Text, want)
			for _, bad := range []string{"<script", "alert(", "onclick", "<style", "Ignored title"} {
				if strings.Contains(m.HTML, bad) || strings.Contains(m.Text, bad) {
					t.Errorf("%q survived: HTML %q", bad, m.HTML)
				}
			}
			if !strings.Contains(m.HTML, `<a href="https://example.com/docs"`) {
				t.Errorf("sanitized HTML lost the link: %q", m.HTML)
			}
		}},
		{"inline-cid-image.eml", func(t *testing.T, m *Message, _ []byte) {
			if len(m.Attachments) != 1 {
				t.Fatalf("attachments %v, want the logo", attSummary(m.Attachments))
			}
			a := m.Attachments[0]
			if a.Filename != "logo.png" || a.ContentType != "image/png" || !a.Inline || a.ContentID != "logo.1@example.com" || a.Size != 70 {
				t.Errorf("attachment %+v", a)
			}
			if !strings.Contains(m.HTML, `src="cid:logo.1@example.com"`) {
				t.Errorf("cid reference lost in HTML %q", m.HTML)
			}
		}},
		{"attached-message.eml", func(t *testing.T, m *Message, _ []byte) {
			// The line break before a boundary belongs to the boundary.
			wantEqual(t, "Text", m.Text, "See the attached message.")
			if len(m.Attachments) != 1 {
				t.Fatalf("attachments %v", attSummary(m.Attachments))
			}
			a := m.Attachments[0]
			if a.Filename != "Quarterly report.eml" || a.ContentType != "message/rfc822" || a.Inline {
				t.Errorf("attachment %+v", a)
			}
			if !bytes.Contains(a.Content, []byte("Message-ID: <inner@example.org>")) || !bytes.HasSuffix(a.Content, []byte("Numbers attached.")) {
				t.Errorf("attached message not kept whole: %q", a.Content)
			}
		}},
		{"uuencode.eml", func(t *testing.T, m *Message, _ []byte) {
			if strings.Contains(m.Text, "begin 644") || !strings.Contains(m.Text, "Here is the file.") || !strings.Contains(m.Text, "Regards, Alice") {
				t.Errorf("Text %q", m.Text)
			}
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != "hello.txt" || string(m.Attachments[0].Content) != "Hello from a uuencoded file!\n" {
				t.Errorf("attachments %v", attSummary(m.Attachments))
			}
		}},
		{"quoted-reply.eml", func(t *testing.T, m *Message, _ []byte) {
			// ReplyText comes from the reply trimmer: the quote is gone.
			if !strings.Contains(m.Text, "> Please restart") || strings.Contains(m.ReplyText, "Please restart") ||
				!strings.HasPrefix(m.ReplyText, "It works again, thanks!") {
				t.Errorf("ReplyText %q from Text %q", m.ReplyText, m.Text)
			}
		}},
		{"auto-submitted-no.eml", wantClass(ClassNormal)},
		{"precedence-bulk.eml", wantClass(ClassAutoGenerated)},
		// Subject words alone never make an auto-reply; with a header signal
		// they do. A machine-flagged mail that is no auto-reply is
		// auto-generated, and the reason names the header.
		{"out-of-office-subject.eml", wantClass(ClassNormal)},
		{"out-of-office-printer.eml", wantClass(ClassNormal)},
		{"out-of-office-subject-bulk.eml", wantSignal(ClassAutoReply, "Precedence: bulk and an auto-reply subject")},
		{"auto-forwarded.eml", wantSignal(ClassAutoGenerated, "Auto-Submitted: auto-generated")},
		{"outlook-oof.eml", wantSignal(ClassAutoReply, "X-MS-Exchange-Inbox-Rules-Loop and an auto-reply subject")},
		{"x-autoreply.eml", wantSignal(ClassAutoReply, "X-Autoreply")},
		{"vacation-request.eml", wantClass(ClassNormal)},
		// Failure words from a person, with no machine signal, stay a ticket.
		{"human-undeliverable-subject.eml", wantClass(ClassNormal)},
		{"rfc2231-filename.eml", func(t *testing.T, m *Message, _ []byte) {
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != "Übersicht €.pdf" {
				t.Errorf("attachments %v", attSummary(m.Attachments))
			}
		}},
		{"truncated-multipart.eml", func(t *testing.T, m *Message, _ []byte) {
			wantEqual(t, "Text", m.Text, "First part.\nSecond part, cut off in the midd")
			wantProblem(t, m, "not terminated")
		}},
		{"cr-only.eml", func(t *testing.T, m *Message, _ []byte) {
			wantEqual(t, "Subject", m.Subject, "Old Mac")
			wantEqual(t, "Text", m.Text, "Line one\nLine two\n")
		}},
		{"dsn-bounce.eml", func(t *testing.T, m *Message, _ []byte) {
			wantClass(ClassBounce)(t, m, nil)
			want := BounceInfo{OriginalMessageID: "ticket-42.1@help.example.net", Recipient: "gone@example.org",
				Status: "5.1.1", Action: "failed", Diagnostic: "550 5.1.1 User unknown"}
			if m.Bounce == nil || *m.Bounce != want {
				t.Errorf("Bounce %+v, want %+v", m.Bounce, want)
			}
		}},
		{"plain-bounce.eml", func(t *testing.T, m *Message, _ []byte) {
			wantClass(ClassBounce)(t, m, nil)
			if m.Bounce == nil || m.Bounce.OriginalMessageID != "ticket-7.3@help.example.net" || m.Bounce.Recipient != "gone@example.org" || m.Bounce.Status != "5.1.1" {
				t.Errorf("Bounce %+v", m.Bounce)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".eml"), func(t *testing.T) {
			m, raw := parseFile(t, tc.file)
			if m.MessageID == "" {
				t.Fatalf("empty MessageID")
			}
			tc.check(t, m, raw)
		})
	}
}

func wantClass(c Class) func(*testing.T, *Message, []byte) {
	return func(t *testing.T, m *Message, _ []byte) {
		t.Helper()
		if m.Class != c {
			t.Errorf("class %q, want %q (subject %q)", m.Class, c, m.Subject)
		}
	}
}

func wantSignal(c Class, signal string) func(*testing.T, *Message, []byte) {
	return func(t *testing.T, m *Message, _ []byte) {
		t.Helper()
		if m.Class != c || m.Signal != signal {
			t.Errorf("class %q signal %q, want %q %q (subject %q)", m.Class, m.Signal, c, signal, m.Subject)
		}
	}
}

func wantEqual(t *testing.T, field, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", field, got, want)
	}
}

func wantProblem(t *testing.T, m *Message, substr string) {
	t.Helper()
	for _, p := range m.Problems {
		if strings.Contains(p, substr) {
			return
		}
	}
	t.Errorf("no problem mentioning %q in %q", substr, m.Problems)
}

func TestParseRefusesNonMail(t *testing.T) {
	for _, in := range []string{"", "   \r\n\n", "\n\n\n"} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrNotMail) {
			t.Errorf("Parse(%q) error %v, want ErrNotMail", in, err)
		}
	}
}

// Input without any header is kept as a body, with the problem said.
func TestParseHeaderlessInput(t *testing.T) {
	for _, in := range []string{"just some words\nand more\n", "\n\n no header\n", "\x00\x01\x02 binary"} {
		m, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if m.From.Address != "" || m.MessageID == "" || !m.SyntheticID ||
			!strings.Contains(strings.Join(m.Problems, "\n"), "no header section") {
			t.Errorf("Parse(%q) = from %q id %q problems %q", in, m.From.Address, m.MessageID, m.Problems)
		}
		if strings.TrimSpace(in) != "" && !strings.Contains(m.Text, strings.Fields(in)[0]) {
			t.Errorf("Parse(%q): text %q lost the body", in, m.Text)
		}
	}
}
