package parse

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses a few representative mails from the corpus: a
// plain Latin-1 message, multipart/alternative with inline images, a
// multipart/report bounce, and a non-standard bounce.
func BenchmarkParse(b *testing.B) {
	dir := filepath.Join(repoRoot(b), "..", "shared", "corpus")
	cases := []string{
		"stalwart-mail-parser/legacy/001.eml",
		"stalwart-mail-parser/legacy/035.eml",
		"stalwart-mail-parser/thirdparty/019.eml",
		"sisimai-set-of-emails/maildir/bsd/lhost-postfix-02.eml",
		"sisimai-set-of-emails/maildir/bsd/lhost-qmail-02.eml",
	}
	for _, c := range cases {
		raw, err := os.ReadFile(filepath.Join(dir, c))
		if err != nil {
			b.Skipf("corpus not available: %v", err)
		}
		b.Run(filepath.Base(filepath.Dir(c))+"/"+filepath.Base(c), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
