package parse

import (
	"strings"
)

// textWriter accumulates rendered text with pending block breaks.
type textWriter struct {
	b         strings.Builder
	pendingNL int  // line breaks wanted before the next text
	trailNL   int  // line breaks at the end of b
	space     bool // a blank is wanted before the next word
	quote     int  // blockquote depth
	pre       int  // inside <pre>
	lists     []listLevel
	links     []openLink
	cells     int // cells written in the current table row
}

type listLevel struct {
	ordered bool
	n       int
}

type openLink struct {
	href  string
	start int // b.Len() when the link opened
}

// block asks for n line breaks before the next text.
func (w *textWriter) block(n int) {
	if n > w.pendingNL {
		w.pendingNL = n
	}
	w.space = false
}

// newline writes a hard line break (<br>).
func (w *textWriter) newline() {
	w.flushBreaks()
	w.b.WriteByte('\n')
	w.trailNL++
	w.space = false
}

func (w *textWriter) flushBreaks() {
	if w.b.Len() == 0 {
		w.pendingNL = 0
		return
	}
	for w.trailNL < w.pendingNL {
		w.b.WriteByte('\n')
		w.trailNL++
	}
	w.pendingNL = 0
}

// word writes s as one unit, with a blank before it when one is pending.
func (w *textWriter) word(s string) {
	w.flushBreaks()
	if w.trailNL > 0 || w.b.Len() == 0 {
		w.prefix()
	} else if w.space {
		w.b.WriteByte(' ')
	}
	w.b.WriteString(s)
	w.trailNL = 0
	w.space = false
}

// maxIndent caps blockquote markers and list indentation: hostile nesting
// must not make every line longer than the whole input.
const maxIndent = 8

// prefix starts a line inside blockquotes.
func (w *textWriter) prefix() {
	for range min(w.quote, maxIndent) {
		w.b.WriteString("> ")
	}
}

// text writes character data, collapsing blanks outside <pre>.
func (w *textWriter) text(s string) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\u00a0':
			return ' '
		case '\u200b', '\u200c', '\u200d', '\ufeff', '\u00ad', '\u034f':
			return -1
		}
		return r
	}, s)
	if w.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				w.newline()
			}
			if line != "" {
				w.word(line)
			}
		}
		return
	}
	if s != "" && isBlank(s[0]) {
		w.space = true
	}
	for _, f := range strings.Fields(s) {
		w.word(f)
		w.space = true
	}
	if s != "" && !isBlank(s[len(s)-1]) {
		w.space = false
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// result tidies the output: no trailing blanks, at most one blank line in a
// row, one final line break.
func (w *textWriter) result() string {
	lines := strings.Split(w.b.String(), "\n")
	var out strings.Builder
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if strings.Trim(l, "> ") == "" {
			blank++
			if blank == 1 {
				out.WriteString("\n")
			}
			continue
		}
		blank = 0
		out.WriteString(l)
		out.WriteString("\n")
	}
	s := strings.Trim(out.String(), "\n")
	if s == "" {
		return ""
	}
	return s + "\n"
}
