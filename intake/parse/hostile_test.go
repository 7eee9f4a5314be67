package parse

import (
	"runtime"
	"strings"
	"testing"
)

// hostileInputs are inputs built to trigger quadratic work or output
// blow-up (nesting, unclosed encoded words, parameter floods...), each as a
// function of a repeat count n. hostileN is the count the test and the
// benchmark use; the test also parses at twice it.
var hostileInputs = []struct {
	name  string
	n     int
	build func(n int) string
}{
	{"parameter flood", 25000, func(n int) string { return "Content-Type: text/plain; " + rep("a=b ", n) + "\n\nx\n" }},
	{"unclosed words", 20000, func(n int) string { return "Subject: " + rep("=?a?q?", n) + "\n\nx\n" }},
	{"unclosed words 8-bit", 15000, func(n int) string { return "Subject: \xff" + rep("=?a?q?\xfe", n) + "\n\nx\n" }},
	{"nested multiparts", 2500, func(n int) string { return rep("Content-Type: multipart/mixed; boundary=a\n\n--a\n", n) + "x\n" }},
	{"loose nested multiparts", 2500, func(n int) string {
		return rep("Content-Type: multipart/mixed; boundary=a\n\n--aX\n", n) + "x\n--a--\n"
	}},
	{"part flood", 25000, func(n int) string { return "Content-Type: multipart/mixed; boundary=a\n\n" + rep("--a\n\nx\n", n) }},
	{"continuation flood", 40000, func(n int) string { return "Subject: a\n" + rep(" b\n", n) + "\nx\n" }},
	{"blank fold lines", 20000, func(n int) string { return "Subject: a\n" + rep(" \t\n b\n", n) + "\nx\n" }},
	{"uuencode begins", 10000, func(n int) string { return "From: a@b\n\n" + rep("begin 644 x\nM!!!!\n", n) + "end\n" }},
	{"html nesting", 10000, func(n int) string { return "Content-Type: text/html\n\n" + rep("<blockquote><ul><li><a href=x>y", n) }},
	{"html links", 15000, func(n int) string { return "Content-Type: text/html\n\n" + rep("<a href=x>y", n) + rep("</a>", n) }},
	{"reference flood", 30000, func(n int) string { return "References: " + rep("<a ", n) + "\n\nx\n" }},
	{"bounce text", 5000, func(n int) string {
		return "From: MAILER-DAEMON@x\nSubject: failure notice\n\n" + rep("user unknown x@y.z\nMessage-ID: <a@b>\n", n)
	}},
	{"dsn blocks", 15000, func(n int) string {
		return "Content-Type: multipart/report; report-type=delivery-status; boundary=a\n\n--a\n" +
			"Content-Type: message/delivery-status\n\n" + rep("Action: failed\n\n", n)
	}},
}

var rep = strings.Repeat

// maxGrowth bounds work(2n) / work(n). Linear work doubles (a little less,
// for the fixed part); quadratic work quadruples.
const maxGrowth = 3.0

// TestHostileInputsStayBounded checks that the work of parsing each hostile
// input grows linearly with it and that the output is proportional to the
// input. Work is counted in heap allocations and allocated bytes, not in
// time: counts do not change with the machine's load or -race, so the test
// cannot flake on a busy machine. BenchmarkHostileInputs gives the times.
func TestHostileInputsStayBounded(t *testing.T) {
	for _, c := range hostileInputs {
		t.Run(c.name, func(t *testing.T) {
			small, large := []byte(c.build(c.n)), []byte(c.build(2*c.n))
			for _, in := range [][]byte{small, large} {
				m, err := Parse(in)
				if err != nil {
					t.Fatalf("%d bytes: %v", len(in), err)
				}
				if out := len(m.Text) + len(m.HTML) + len(m.Subject); out > 4*len(in) {
					t.Errorf("%d bytes of output for %d of input", out, len(in))
				}
				if len(m.Problems) > maxProblems {
					t.Errorf("%d bytes: %d problems", len(in), len(m.Problems))
				}
			}
			allocsN, bytesN := parseWork(small)
			allocs2N, bytes2N := parseWork(large)
			t.Logf("n=%d: %d bytes in, %.0f allocations, %.0f bytes allocated; 2n: ×%.2f allocations, ×%.2f bytes",
				c.n, len(small), allocsN, bytesN, allocs2N/allocsN, bytes2N/bytesN)
			if g := allocs2N / allocsN; g > maxGrowth {
				t.Errorf("allocations grow ×%.2f from %d to %d bytes of input (%.0f → %.0f): more than linear",
					g, len(small), len(large), allocsN, allocs2N)
			}
			if g := bytes2N / bytesN; g > maxGrowth {
				t.Errorf("allocated bytes grow ×%.2f from %d to %d bytes of input (%.0f → %.0f): more than linear",
					g, len(small), len(large), bytesN, bytes2N)
			}
		})
	}
}

// parseWork returns the heap allocations and bytes allocated by one Parse
// of in, after a first run that warms up what is set up once.
func parseWork(in []byte) (allocs, bytes float64) {
	_, _ = Parse(in)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as testing.AllocsPerRun: count only this goroutine's work
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _ = Parse(in)
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs - before.Mallocs), float64(after.TotalAlloc - before.TotalAlloc)
}

// BenchmarkHostileInputs gives the time each hostile input takes to parse,
// the figure the test above does not assert.
//
//	go test ./intake/parse -run '^$' -bench HostileInputs
func BenchmarkHostileInputs(b *testing.B) {
	for _, c := range hostileInputs {
		in := []byte(c.build(c.n))
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Parse(in)
			}
		})
	}
}
