package reply

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/postdesk/postdesk/ticket"
)

// Separator is the line postdesk puts above the quoted text of its notices.
// Whatever a client quotes from it downwards is our own notice.
const Separator = ticket.ReplySeparator

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
		if hasSeparatorKey(l.text) {
			return i
		}
	}
	return -1
}

// separatorFail is the failure function of separatorKey for
// hasSeparatorKey's Knuth–Morris–Pratt search: separatorFail[i] is the
// length of the longest proper border of separatorKey[:i+1].
var separatorFail = func() [len(separatorKey)]int {
	var f [len(separatorKey)]int
	for i, k := 1, 0; i < len(separatorKey); i++ {
		for k > 0 && separatorKey[i] != separatorKey[k] {
			k = f[k-1]
		}
		if separatorKey[i] == separatorKey[k] {
			k++
		}
		f[i] = k
	}
	return f
}()

// hasSeparatorKey reports strings.Contains(lettersOnly(s), separatorKey)
// without building the string of letters: it feeds the lower-cased
// letters of s to a KMP matcher for the (ASCII) key.
func hasSeparatorKey(s string) bool {
	// Only 'V' and 'v' lower-case to 'v', and the same holds for 'b' and
	// 'y' (TestSeparatorLetters): a line without all three bytes, most
	// lines, cannot hold the key.
	for _, c := range [...]byte{'v', 'b', 'y'} {
		if strings.IndexByte(s, c) < 0 && strings.IndexByte(s, c-'a'+'A') < 0 {
			return false
		}
	}
	k := 0
	for i := 0; i < len(s); {
		var r rune
		if c := s[i]; c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z':
				r = rune(c)
			case 'A' <= c && c <= 'Z':
				r = rune(c + 'a' - 'A')
			default:
				continue
			}
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(s[i:])
			i += size
			if !unicode.IsLetter(r) {
				continue
			}
			r = unicode.ToLower(r)
		}
		for k > 0 && rune(separatorKey[k]) != r {
			k = separatorFail[k-1]
		}
		if rune(separatorKey[k]) == r {
			k++
			if k == len(separatorKey) {
				return true
			}
		}
	}
	return false
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
	var v, e strings.Builder
	vn, en := 0, 0 // sizes of the joined strings
	for i, l := range lines {
		if keep[i] {
			for _, r := range l.raw {
				vn += len(r) + 1
			}
		} else {
			en += len(l.text) + 1
		}
	}
	v.Grow(vn)
	e.Grow(en)
	vFirst, eFirst := true, true
	for i, l := range lines {
		if keep[i] {
			for _, r := range l.raw {
				if !vFirst {
					v.WriteByte('\n')
				}
				v.WriteString(r)
				vFirst = false
			}
		} else {
			if !eFirst {
				e.WriteByte('\n')
			}
			e.WriteString(l.text)
			eFirst = false
		}
	}
	return strings.TrimSpace(v.String()), strings.TrimSpace(e.String())
}
