package parse

import (
	"os"
	"path/filepath"
	"testing"
)

// corpusDir returns <repo root>/../shared/corpus/<source>, skipping the test
// when the shared corpus is not checked out beside the repository.
func corpusDir(t testing.TB, source string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "corpus", source)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus %s not found at %s (shared/corpus must sit beside the repository): %v", source, dir, err)
	}
	return dir
}

// repoRoot walks up from the package directory to the directory holding
// go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// mustGlob is filepath.Glob that fails the test on a bad pattern.
func mustGlob(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatalf("glob %s: %v", pattern, err)
	}
	return files
}
