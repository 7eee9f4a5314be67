package reply

import (
	"strings"
	"unicode"
)

// Separator is the line postdesk puts above the quoted text of its notices.
// Whatever a client quotes from it downwards is our own notice.
const Separator = "##- Please type your reply above this line -##"

// separatorKey is Separator reduced to its letters, so that a client that
// re-wraps, re-quotes or re-punctuates the line still matches.
const separatorKey = "pleasetypeyourreplyabovethisline"

// Trim returns the text the author of a reply wrote (visible) and what was
// cut from it (elided): quoted history, attributions, header blocks,
// forwarded mails, signatures and delimiters. Both are trimmed of
// surrounding whitespace. CRLF and bare CR line endings are accepted.
//
// visible is made of the author's lines as received; elided shows wrapped
// attributions joined into one line and "|"/Supercite quotes as ">".
func Trim(text string) (visible, elided string) {
	lines := buildLines(splitLines(text))
	return render(lines, decide(lines))
}

// decide returns which lines belong to the reply.
func decide(lines []line) []bool {
	sep := findSeparator(lines)
	if sep < 0 {
		return newTrimmer(lines).run()
	}
	keep := make([]bool, len(lines))
	cut := separatorCut(lines, sep)
	above := newTrimmer(lines[:cut]).run()
	if hasText(lines[:cut], above) {
		copy(keep, above)
		return keep
	}
	// Nothing above the separator: the author may have written below our
	// quoted notice (bottom-posting). Only text after the quoted run that
	// holds the separator can be theirs; an unquoted notice is all ours.
	if strings.TrimSpace(lines[sep].text)[0] != '>' {
		return keep
	}
	after := sep + 1
	for after < len(lines) && (lines[after].kind == kindQuote || lines[after].kind == kindEmpty) {
		after++
	}
	below := newTrimmer(lines[after:]).run()
	copy(keep[after:], below)
	return keep
}

// findSeparator returns the index of the first line carrying Separator.
func findSeparator(lines []line) int {
	for i, l := range lines {
		if strings.Contains(lettersOnly(l.text), separatorKey) {
			return i
		}
	}
	return -1
}

// separatorCut extends the cut at the separator upwards over blank or bare
// quote lines to the attribution a client put above the quoted notice.
func separatorCut(lines []line, sep int) int {
	j := sep - 1
	for j >= 0 && strings.TrimSpace(stripQuotePrefix(lines[j].text)) == "" {
		j--
	}
	if j >= 0 && (lines[j].kind == kindMarker || isMarker(stripQuotePrefix(lines[j].text))) {
		return j
	}
	return sep
}

func lettersOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func hasText(lines []line, keep []bool) bool {
	for i, l := range lines {
		if keep[i] && l.kind != kindEmpty {
			return true
		}
	}
	return false
}

// render joins the kept lines (as received) and the cut lines (normalised).
func render(lines []line, keep []bool) (visible, elided string) {
	var v, e []string
	for i, l := range lines {
		if keep[i] {
			v = append(v, l.raw...)
		} else {
			e = append(e, l.text)
		}
	}
	return strings.TrimSpace(strings.Join(v, "\n")), strings.TrimSpace(strings.Join(e, "\n"))
}
