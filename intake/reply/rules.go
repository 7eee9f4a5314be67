package reply

import (
	"regexp"
	"strings"
)

// The cutting rules, over the string of line kinds (see classify.go). Each
// rule is a shape that real replies have; the comments name the shape.
var (
	// A reply written below the quoted mail: the body opens with an
	// attribution and quotes, and only text follows.
	bottomPosted = regexp.MustCompile(`^e*b[bqeh]+t[et]*$`)
	// Text, then an embedded mail that is not quoted: a forward or an
	// attribution without '>' (Outlook Mobile, Gmail on some phones).
	textThenUnquotedMail = regexp.MustCompile(`te*b[^q]*$`)
	// Text, then an attribution and quoted history, then at most a few
	// lines (a list footer, a name): the classic top-post.
	textThenQuotedMail = regexp.MustCompile(`te*b[eqbh]*([te]*)$`)
)

// maxTrailingText is how many text lines may follow quoted history and still
// be cut with it, taken for a name or a list footer. More is an answer
// written below the quote. The price: a one-line answer below a quote that
// follows a top-posted greeting is cut too (email_reply_trimmer makes the
// same trade).
const maxTrailingText = 6

// minHeaderBlock is how many header lines make an Outlook-style header block.
const minHeaderBlock = 3

// trimmer holds the lines still kept while the rules run.
type trimmer struct {
	lines []line
	keep  []bool

	// The last result of pattern, valid until a line is dropped.
	p     string
	idx   []int
	valid bool
}

func newTrimmer(lines []line) *trimmer {
	keep := make([]bool, len(lines))
	for i := range keep {
		keep[i] = true
	}
	return &trimmer{lines: lines, keep: keep}
}

// pattern returns the kinds of the kept lines and their indices in lines.
// Callers must not modify idx.
func (t *trimmer) pattern() (string, []int) {
	if t.valid {
		return t.p, t.idx
	}
	b := make([]byte, 0, len(t.lines))
	idx := make([]int, 0, len(t.lines))
	for i, l := range t.lines {
		if t.keep[i] {
			b = append(b, l.kind)
			idx = append(idx, i)
		}
	}
	t.p, t.idx, t.valid = string(b), idx, true
	return t.p, t.idx
}

// drop removes line i.
func (t *trimmer) drop(i int) {
	if t.keep[i] {
		t.keep[i] = false
		t.valid = false
	}
}

// dropFrom removes the kept lines from pattern position p to the end.
func (t *trimmer) dropFrom(idx []int, p int) {
	for _, i := range idx[p:] {
		t.drop(i)
	}
}

// dropKind removes every kept line of the given kind.
func (t *trimmer) dropKind(kind byte) {
	for i, l := range t.lines {
		if l.kind == kind {
			t.drop(i)
		}
	}
}

// run applies the rules in order and returns which lines are the reply.
func (t *trimmer) run() []bool {
	// Everything below a delimiter ("-- ", "______") is signature or footer.
	if p, idx := t.pattern(); strings.IndexByte(p, kindDelimiter) >= 0 {
		t.dropFrom(idx, strings.IndexByte(p, kindDelimiter))
	}
	// Device signatures go wherever they are.
	t.dropKind(kindSignature)

	if p, idx := t.pattern(); hasMarker(p) && bottomPosted.MatchString(p) {
		last := strings.LastIndexFunc(p, func(r rune) bool { return r != kindText && r != kindEmpty })
		first := last + 1
		for _, i := range idx[:first] {
			t.drop(i)
		}
	}
	if p, idx := t.pattern(); hasMarker(p) && textThenUnquotedMail.MatchString(p) {
		t.dropFrom(idx, textThenUnquotedMail.FindStringIndex(p)[0]+1)
	}
	p, idx := t.pattern()
	if hasMarker(p) {
		if m := textThenQuotedMail.FindStringSubmatchIndex(p); m != nil &&
			strings.Count(p[m[2]:m[3]], string(kindText)) <= maxTrailingText {
			t.dropFrom(idx, m[0]+1)
		}
	}
	t.dropTrailingQuotes()
	// Attributions left now sit between kept quotes and text (inline
	// replies): the quotes stay for context, the attribution goes.
	t.dropKind(kindMarker)
	t.cutHeaderBlocks()
	t.dropTrailingQuotes()
	// Blank lines ending the reply go with what was cut below them, so
	// that elided shows the cut text with its own spacing. When only quotes
	// are left, the author wrote nothing new: all of it is history.
	p, idx = t.pattern()
	if strings.Trim(p, "eq") == "" {
		t.dropFrom(idx, 0)
	} else {
		t.dropFrom(idx, len(strings.TrimRight(p, string(kindEmpty))))
	}
	return t.keep
}

// hasMarker reports an embedded-mail marker in a pattern. The three rules
// that cut at an embedded mail need one: without it they cannot match.
func hasMarker(p string) bool { return strings.IndexByte(p, kindMarker) >= 0 }

// dropTrailingQuotes removes quoted lines (and blank lines among them) that
// end the reply, provided some text stays above them.
func (t *trimmer) dropTrailingQuotes() {
	p, idx := t.pattern()
	lastText := strings.LastIndexByte(p, kindText)
	if lastText < 0 {
		return
	}
	tail := p[lastText+1:]
	if strings.Trim(tail, "eqb") != "" || strings.Trim(tail, "e") == "" {
		return
	}
	t.dropFrom(idx, lastText+1)
}

// cutHeaderBlocks handles Outlook-style "From:/Sent:/To:/Subject:" blocks.
// With text above, the block and everything below it is the quoted mail.
// Without (a forward with no comment), only the block goes and the
// forwarded body is the visible text.
func (t *trimmer) cutHeaderBlocks() {
	p, idx := t.pattern()
	sender := func(pos int) bool { return isSenderHeader(t.lines[idx[pos]].text) }
	from := 0
	for {
		start, end := headerBlock(p, from, sender)
		if start < 0 {
			return
		}
		// Removing a block removes no text, so one pass over p suffices.
		if strings.IndexByte(p[:start], kindText) >= 0 {
			t.dropFrom(idx, start)
			return
		}
		for _, i := range idx[start:end] {
			t.drop(i)
		}
		from = end
	}
}

// headerBlock finds, from position from on, the first run of at least
// minHeaderBlock header lines of which one names the sender (sender
// reports that for a position of p). Wrapped values may stand between two
// headers ("Subject: a long\nsubject\nTo: …"); one blank line after the
// block goes with it.
func headerBlock(p string, from int, sender func(pos int) bool) (start, end int) {
	for i := from; i < len(p); i++ {
		if p[i] != kindHeader {
			continue
		}
		n, j, named := 0, i, false
	scan:
		for j < len(p) {
			switch k := wrappedValue(p, j); {
			case p[j] == kindHeader:
				n++
				named = named || sender(j)
				j++
			case k > 0:
				j += k
			default:
				break scan
			}
		}
		if n >= minHeaderBlock && named {
			if j < len(p) && p[j] == kindEmpty {
				j++
			}
			return i, j
		}
		i = j
	}
	return -1, -1
}

// maxWrappedLines is how many text lines a header value may wrap onto.
const maxWrappedLines = 2

// wrappedValue returns how many text lines from p[j] on continue the header
// above them (another header follows them), or 0.
func wrappedValue(p string, j int) int {
	k := 0
	for k < maxWrappedLines && j+k < len(p) && p[j+k] == kindText {
		k++
	}
	if k > 0 && j+k < len(p) && p[j+k] == kindHeader {
		return k
	}
	return 0
}
