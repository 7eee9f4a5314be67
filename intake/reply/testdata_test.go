package reply

import (
	"path/filepath"
	"strings"
	"testing"
)

// readCase reads testdata/NAME.txt without its leading "#" lines, which say
// where the case was modelled from.
func readCase(t *testing.T, path string) string {
	t.Helper()
	text := readFile(t, path)
	for strings.HasPrefix(text, "#") {
		_, rest, _ := strings.Cut(text, "\n")
		text = rest
	}
	return text
}

// TestTrimTestdata: each testdata/NAME.txt is a body modelled on mail seen
// in public archives, trackers or RFCs (see its comment); NAME.want is the
// visible text Trim must return.
func TestTrimTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata (%v)", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			in := readCase(t, f)
			want := strings.TrimSpace(readCase(t, strings.TrimSuffix(f, ".txt")+".want"))
			if vis, el := Trim(in); vis != want {
				t.Errorf("visible:\n%s\n--- want:\n%s\n--- elided:\n%s", vis, want, el)
			}
		})
	}
}
