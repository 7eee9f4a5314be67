package main

import (
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is shared/corpus beside the repository.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s: %v", dir, err)
	}
	return dir
}

// corpusMails lists every mail of the corpus: the .eml files, RT's mails
// and the plain reply bodies, but not the expected-result files.
func corpusMails(t *testing.T) []string {
	t.Helper()
	root := corpusDir(t)
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root))
		switch {
		case strings.HasSuffix(rel, ".eml"),
			strings.Contains(rel, "/bestpractical-rt/emails/"),
			strings.Contains(rel, "/emails/") && strings.HasSuffix(rel, ".txt"):
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestInspectWholeCorpus(t *testing.T) {
	files := corpusMails(t)
	if len(files) < 600 {
		t.Fatalf("found only %d corpus mails", len(files))
	}
	code, out, errs := runCLI(t, nil, append([]string{"inspect", "--json"}, files...)...)
	if code != 0 || errs != "" {
		t.Fatalf("inspect exit %d:\n%s", code, errs)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	n := 0
	for {
		var v struct {
			File      string `json:"file"`
			MessageID string `json:"message_id"`
			Class     string `json:"class"`
		}
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("output %d: %v", n, err)
		}
		if v.File != files[n] || v.MessageID == "" || v.Class == "" {
			t.Fatalf("output %d = %+v for %s", n, v, files[n])
		}
		n++
	}
	if n != len(files) {
		t.Fatalf("%d results for %d files", n, len(files))
	}
	t.Logf("postdesk inspect read %d corpus mails without an error", n)

	// Text form, and a clear error for a missing file.
	code, out, _ = runCLI(t, nil, "inspect", files[0])
	if code != 0 || !strings.Contains(out, "message_id: ") || !strings.Contains(out, "class: ") {
		t.Fatalf("text form: exit %d\n%s", code, out)
	}
	code, _, errs = runCLI(t, nil, "inspect", "no-such-file.eml")
	if code != 1 || !strings.Contains(errs, "no-such-file.eml") {
		t.Fatalf("missing file: exit %d %q", code, errs)
	}
}

// TestInspectJSONBounce: inspect --json shows what the parser found of a
// delivery report, the action and the diagnostic included.
func TestInspectJSONBounce(t *testing.T) {
	file := filepath.Join("..", "..", "intake", "parse", "testdata", "dsn-bounce.eml")
	code, out, errs := runCLI(t, nil, "inspect", "--json", file)
	if code != 0 || errs != "" {
		t.Fatalf("inspect exit %d:\n%s", code, errs)
	}
	var v struct {
		Class  string            `json:"class"`
		Bounce map[string]string `json:"bounce"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	want := map[string]string{"original_message_id": "ticket-42.1@help.example.net", "recipient": "gone@example.org",
		"status": "5.1.1", "action": "failed", "diagnostic": "550 5.1.1 User unknown"}
	for k, w := range want {
		if v.Bounce[k] != w {
			t.Errorf("bounce.%s = %q, want %q (class %q, bounce %v)", k, v.Bounce[k], w, v.Class, v.Bounce)
		}
	}
}
