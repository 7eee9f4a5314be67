package reply

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
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

// largeInputs are inputs shaped to stress one part of the trimmer each, as
// a function of a line count n.
var largeInputs = map[string]func(n int) string{
	"quotes":        func(n int) string { return strings.Repeat("> quoted line\n", n) },
	"attributions":  func(n int) string { return strings.Repeat("On Tue, Mar 12, 2024 at 10:15 AM Jane <\n", n) },
	"bare wrote":    func(n int) string { return strings.Repeat("Jane wrote:\n", n) + strings.Repeat("\n", n) + "> q\n" },
	"header blocks": func(n int) string { return strings.Repeat("From: a\nTo: b\nSubject: c\n\nbody\n", n/5) },
	"forward chain": func(n int) string { return strings.Repeat("text\n\n---------- Forwarded message ---------\n", n/3) },
	"signatures":    func(n int) string { return strings.Repeat("Sent from my iPhone\n", n) },
	"delimiters":    func(n int) string { return strings.Repeat("-- \n", n) },
	"pipes":         func(n int) string { return strings.Repeat("| a\n", n) },
	"long line": func(n int) string {
		return strings.Repeat("On 12 Mar 2024 wrote ", n) + "\n" + strings.Repeat("x", 128*n)
	},
	"separator": func(n int) string { return strings.Repeat("> "+Separator+"\n", n) },
}

// largeHTML are HTML inputs for TrimHTML alone.
var largeHTML = map[string]func(n int) string{
	"deep nesting": func(n int) string { return strings.Repeat("<div><blockquote>", n) + "x" },
	"many rules":   func(n int) string { return "x" + strings.Repeat("<hr>\n", 8*n) + "From: a" },
}

// maxGrowth bounds work(2n) / work(n): linear work doubles, quadratic
// work quadruples.
const maxGrowth = 3.0

// TestTrimLargeInputs guards against super-linear work: the work for an
// input of 2n lines is at most maxGrowth times that for n lines. Work is
// counted in heap allocations and bytes allocated, not in time, so that a
// busy machine or -race cannot fail it; BenchmarkTrimLargeInputs gives the
// times.
func TestTrimLargeInputs(t *testing.T) {
	const n = 4000
	check := func(t *testing.T, work func(in string)) func(name string, build func(int) string) {
		return func(name string, build func(int) string) {
			small, large := build(n), build(2*n)
			allocsN, bytesN := workOf(func() { work(small) })
			allocs2N, bytes2N := workOf(func() { work(large) })
			t.Logf("%s: %d bytes: %.0f allocations, %.0f bytes; 2n: ×%.2f, ×%.2f", name, len(small),
				allocsN, bytesN, allocs2N/allocsN, bytes2N/bytesN)
			if g := allocs2N / allocsN; g > maxGrowth {
				t.Errorf("%s: allocations grow ×%.2f from %d to %d bytes (%.0f → %.0f)", name, g, len(small), len(large), allocsN, allocs2N)
			}
			if g := bytes2N / bytesN; g > maxGrowth {
				t.Errorf("%s: allocated bytes grow ×%.2f from %d to %d bytes (%.0f → %.0f)", name, g, len(small), len(large), bytesN, bytes2N)
			}
		}
	}
	text := check(t, trimAll)
	for name, build := range largeInputs {
		text(name, build)
	}
	html := check(t, func(in string) { TrimHTML(in) })
	for name, build := range largeHTML {
		html(name, build)
	}
}

// trimAll runs every entry point of the package on one text input.
func trimAll(in string) {
	Trim(in)
	ExtractEmbedded(in)
	TrimHTML("<div>" + strings.ReplaceAll(in, "\n", "<br>") + "</div>")
}

// workOf returns the heap allocations and bytes allocated by one call of
// f, after a first call that warms up what is set up once.
func workOf(f func()) (allocs, bytes float64) {
	f()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as testing.AllocsPerRun: count only this goroutine's work
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs - before.Mallocs), float64(after.TotalAlloc - before.TotalAlloc)
}

// BenchmarkTrimLargeInputs gives the time of each large input, the figure
// TestTrimLargeInputs does not assert.
//
//	go test ./intake/reply -run '^$' -bench TrimLargeInputs
func BenchmarkTrimLargeInputs(b *testing.B) {
	const n = 8000
	for name, build := range largeInputs {
		in := build(n)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				trimAll(in)
			}
		})
	}
	for name, build := range largeHTML {
		in := build(n)
		b.Run("html "+name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				TrimHTML(in)
			}
		})
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
