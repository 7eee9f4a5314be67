package reply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func discourseInputs(tb testing.TB) []string {
	dir := corpusDir(tb, "discourse-email_reply_trimmer")
	files, err := filepath.Glob(filepath.Join(dir, "emails", "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no discourse emails in %s (%v)", dir, err)
	}
	inputs := make([]string, len(files))
	for i, f := range files {
		inputs[i] = readFile(tb, f)
	}
	return inputs
}

func BenchmarkTrim(b *testing.B) {
	inputs := discourseInputs(b)
	size := 0
	for _, in := range inputs {
		size += len(in)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		for _, in := range inputs {
			Trim(in)
		}
	}
}

// TestTrimLargeInputs guards against super-linear work: each input is
// large and shaped to stress one part of the trimmer. Linear work takes a
// fraction of a second each; quadratic work on these sizes would take
// minutes, so a generous bound catches it without flaking on a busy machine
// or under -race.
const largeInputBound = 30 * time.Second

func TestTrimLargeInputs(t *testing.T) {
	const n = 8000
	inputs := map[string]string{
		"quotes":        strings.Repeat("> quoted line\n", n),
		"attributions":  strings.Repeat("On Tue, Mar 12, 2024 at 10:15 AM Jane <\n", n),
		"bare wrote":    strings.Repeat("Jane wrote:\n", n) + strings.Repeat("\n", n) + "> q\n",
		"header blocks": strings.Repeat("From: a\nTo: b\nSubject: c\n\nbody\n", n/5),
		"forward chain": strings.Repeat("text\n\n---------- Forwarded message ---------\n", n/3),
		"signatures":    strings.Repeat("Sent from my iPhone\n", n),
		"delimiters":    strings.Repeat("-- \n", n),
		"pipes":         strings.Repeat("| a\n", n),
		"long line":     strings.Repeat("On 12 Mar 2024 wrote ", n) + "\n" + strings.Repeat("x", 1<<20),
		"separator":     strings.Repeat("> "+Separator+"\n", n),
	}
	for name, in := range inputs {
		start := time.Now()
		Trim(in)
		ExtractEmbedded(in)
		TrimHTML("<div>" + strings.ReplaceAll(in, "\n", "<br>") + "</div>")
		d := time.Since(start)
		t.Logf("%s: %d bytes in %v", name, len(in), d)
		if d > largeInputBound {
			t.Errorf("%s: %d bytes took %v", name, len(in), d)
		}
	}
	for name, in := range map[string]string{
		"deep nesting": strings.Repeat("<div><blockquote>", 5000) + "x",
		"many rules":   "x" + strings.Repeat("<hr>\n", 40000) + "From: a",
	} {
		start := time.Now()
		TrimHTML(in)
		if d := time.Since(start); d > largeInputBound {
			t.Errorf("%s: HTML took %v", name, d)
		}
	}
}

func FuzzTrim(f *testing.F) {
	dir := corpusDir(f, "discourse-email_reply_trimmer")
	files, _ := filepath.Glob(filepath.Join(dir, "emails", "*.txt"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("Yes.\r\n\r\nOn Tue, Mar 12, 2024 at 10:15 AM Jane <\r\njane@example.com> wrote:\r\n> q")
	f.Add("Yes.\n\n> " + Separator + "\n> notice")
	f.Add("C> a\nC> b\n| c\n| d\n")
	f.Add("text\n(\u2003)\n")
	f.Fuzz(func(t *testing.T, in string) {
		vis, _ := Trim(in)
		if l, ok := linesFromInput(in, vis); !ok {
			t.Errorf("visible line %q is not from the input", l)
		}
		before, embedded := ExtractEmbedded(in)
		for _, part := range []string{before, embedded} {
			if l, ok := linesFromInput(in, part); !ok {
				t.Errorf("ExtractEmbedded line %q is not from the input", l)
			}
		}
		TrimHTML(in)
	})
}
