package reply

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// onWroteStart finds, independently of the package's own classifier, the
// first unquoted English attribution: a line starting "On " with "wrote:"
// on it or on one of the next two lines.
var onWroteStart = regexp.MustCompile(`^On\s`)

func firstOnWrote(lines []string) int {
	for i, l := range lines {
		if !onWroteStart.MatchString(l) {
			continue
		}
		for j := i; j < len(lines) && j <= i+2; j++ {
			if strings.Contains(lines[j], "wrote:") {
				return i
			}
		}
	}
	return -1
}

func TestGitHubReplyParserProperties(t *testing.T) {
	dir := corpusDir(t, "github-email_reply_parser")
	files, err := filepath.Glob(filepath.Join(dir, "emails", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no emails in %s (%v)", dir, err)
	}
	held := 0
	for _, f := range files {
		name := filepath.Base(f)
		ok := true
		fail := func(format string, args ...any) {
			t.Errorf(format, args...)
			ok = false
		}
		in := readFile(t, f)
		vis, _ := Trim(in) // super-linear work is TestTrimLargeInputs' to catch
		if l, from := linesFromInput(in, vis); !from {
			fail("%s: visible line %q is not from the input", name, l)
		}
		lines := splitLines(in)
		if i := firstOnWrote(lines); i > 0 {
			textAbove := false
			for _, l := range lines[:i] {
				if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, ">") {
					textAbove = true
				}
			}
			if textAbove && vis == "" {
				fail("%s: unquoted text above %q, but visible is empty", name, lines[i])
			}
		}
		if vis == strings.TrimSpace(strings.Join(lines, "\n")) && firstOnWrote(lines) >= 0 {
			fail("%s: has an attribution but nothing was cut", name)
		}
		if ok {
			held++
		}
		t.Logf("%s:\n%s", name, vis)
	}
	t.Logf("github email_reply_parser: properties hold for %d of %d", held, len(files))
}
