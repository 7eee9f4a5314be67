package parse

import (
	"strings"
	"testing"
	"time"
)

// TestHostileInputsStayBounded feeds inputs built to trigger quadratic time
// or output blow-up (nesting, unclosed encoded words, parameter floods...).
// Each must parse quickly and produce output proportional to its input;
// the time limit is far above what a linear parser needs even under -race.
func TestHostileInputsStayBounded(t *testing.T) {
	rep := strings.Repeat
	cases := map[string]string{
		"parameter flood":      "Content-Type: text/plain; " + rep("a=b ", 50000) + "\n\nx\n",
		"unclosed words":       "Subject: " + rep("=?a?q?", 40000) + "\n\nx\n",
		"unclosed words 8-bit": "Subject: \xff" + rep("=?a?q?\xfe", 30000) + "\n\nx\n",
		"nested multiparts":    rep("Content-Type: multipart/mixed; boundary=a\n\n--a\n", 5000) + "x\n",
		"part flood":           "Content-Type: multipart/mixed; boundary=a\n\n" + rep("--a\n\nx\n", 50000),
		"continuation flood":   "Subject: a\n" + rep(" b\n", 80000) + "\nx\n",
		"uuencode begins":      "From: a@b\n\n" + rep("begin 644 x\nM!!!!\n", 20000) + "end\n",
		"html nesting":         "Content-Type: text/html\n\n" + rep("<blockquote><ul><li><a href=x>y", 20000),
		"html links":           "Content-Type: text/html\n\n" + rep("<a href=x>y", 30000) + rep("</a>", 30000),
		"reference flood":      "References: " + rep("<a ", 60000) + "\n\nx\n",
		"bounce text":          "From: MAILER-DAEMON@x\nSubject: failure notice\n\n" + rep("user unknown x@y.z\nMessage-ID: <a@b>\n", 10000),
		"dsn blocks":           "Content-Type: multipart/report; report-type=delivery-status; boundary=a\n\n--a\nContent-Type: message/delivery-status\n\n" + rep("Action: failed\n\n", 30000),
	}
	for name, in := range cases {
		start := time.Now()
		m, err := Parse([]byte(in))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: %v for %d bytes", name, d, len(in))
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if out := len(m.Text) + len(m.HTML) + len(m.Subject); out > 4*len(in) {
			t.Errorf("%s: %d bytes of output for %d of input", name, out, len(in))
		}
		if len(m.Problems) > maxProblems {
			t.Errorf("%s: %d problems", name, len(m.Problems))
		}
	}
}
