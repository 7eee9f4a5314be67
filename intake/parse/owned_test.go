package parse

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseOwnedIsParse: ParseOwned, which normalises line endings in the
// caller's buffer, reads every mail of the test data and the shared corpus
// exactly as Parse does (fields, texts, HTML, class, bounce, problems, and
// every attachment byte for byte), with CR LF, LF and CR-only line ends.
func TestParseOwnedIsParse(t *testing.T) {
	files := mustGlob(t, filepath.Join("testdata", "*.eml"))
	root := corpusDir(t, "")
	if err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".eml") || strings.HasSuffix(path, ".txt")) {
			files = append(files, path)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(files) < 500 {
		t.Fatalf("only %d mails found", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		for name, in := range map[string][]byte{
			"as is": raw,
			"crlf":  bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n")),
			"cr":    bytes.ReplaceAll(lf, []byte("\n"), []byte("\r")),
		} {
			want, werr := Parse(bytes.Clone(in))
			got, gerr := ParseOwned(bytes.Clone(in))
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%s (%s): Parse error %v, ParseOwned error %v", f, name, werr, gerr)
			}
			if werr != nil {
				continue
			}
			if a, b := dump(t, want), dump(t, got); a != b {
				t.Fatalf("%s (%s): ParseOwned differs from Parse\nParse:      %.300s\nParseOwned: %.300s", f, name, a, b)
			}
		}
	}
}

func dump(t testing.TB, m *Message) string {
	t.Helper()
	b, err := json.Marshal(struct {
		*Message
		Files [][]byte
	}{m, func() [][]byte {
		var out [][]byte
		for _, a := range m.Attachments {
			out = append(out, a.Content)
		}
		return out
	}()})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParseOwned: on any input, ParseOwned reads what Parse reads.
func FuzzParseOwned(f *testing.F) {
	for _, file := range mustGlob(f, filepath.Join("testdata", "*.eml")) {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte("From: a@b\r\rSubject: x\r\n\r\nbody\rline\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, werr := Parse(bytes.Clone(raw))
		got, gerr := ParseOwned(bytes.Clone(raw))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("Parse error %v, ParseOwned error %v", werr, gerr)
		}
		if werr == nil && dump(t, want) != dump(t, got) {
			t.Fatalf("ParseOwned differs from Parse")
		}
	})
}
