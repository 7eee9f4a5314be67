package reply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir returns <repo root>/../shared/corpus/<source>, where the repo
// root is the nearest directory above the package holding go.mod. It skips
// the test when the corpus is not beside the clone.
func corpusDir(t testing.TB, source string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the package: cannot locate shared/corpus")
		}
		dir = parent
	}
	c := filepath.Join(filepath.Dir(dir), "shared", "corpus", source)
	if _, err := os.Stat(c); err != nil {
		t.Skipf("corpus %s not found beside the repository (%v)", c, err)
	}
	return c
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// optionalFile returns the file's content and whether it exists.
func optionalFile(t testing.TB, path string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "", false
	}
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b), true
}

// inputLines returns the set of lines of text after line-ending
// normalisation, for checking that output lines come from the input.
func lineSet(text string) map[string]bool {
	set := make(map[string]bool)
	for _, l := range splitLines(text) {
		set[l] = true
	}
	return set
}

// linesFromInput reports the first line of out that is not part of a line
// of in (out is trimmed, so its first and last lines may be partial).
func linesFromInput(in, out string) (string, bool) {
	norm := strings.Join(splitLines(in), "\n")
	set := lineSet(in)
	for _, l := range strings.Split(out, "\n") {
		if !set[l] && !strings.Contains(norm, l) {
			return l, false
		}
	}
	return "", true
}
