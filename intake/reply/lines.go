package reply

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// line is one logical line of a body: usually one physical line, but an
// attribution that a client wrapped ("On …, Jane <jane@example.com>\nwrote:")
// is joined back into one so it can be recognised.
type line struct {
	raw  []string // physical lines, exactly as received (minus line endings)
	text string   // normalised text: joined attribution, "|" and "C>" quotes as ">"
	kind byte     // one of the kind* letters
}

// splitLines normalises CRLF and bare CR line endings and splits on LF.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// maxContinuation is how many physical lines may follow the first line of a
// wrapped attribution. Clients wrap at most twice in practice; a bound keeps
// the join from swallowing a paragraph ("greedy On").
const maxContinuation = 3

// buildLines joins wrapped attributions, normalises alternative quote
// prefixes and classifies every logical line.
func buildLines(raw []string) []line {
	lines := make([]line, 0, len(raw))
	for i := 0; i < len(raw); {
		if n := continuationCount(raw, i); n > 0 {
			joined := raw[i]
			for k := 1; k <= n; k++ {
				joined += " " + strings.TrimLeftFunc(raw[i+k], unicode.IsSpace)
			}
			lines = append(lines, line{raw: raw[i : i+n+1], text: joined})
			i += n + 1
			continue
		}
		lines = append(lines, line{raw: raw[i : i+1], text: raw[i]})
		i++
	}
	normaliseQuotes(lines)
	classifyAll(lines)
	return lines
}

// continuationCount reports how many following physical lines complete the
// attribution that starts at raw[i], or 0 when raw[i] does not start one.
func continuationCount(raw []string, i int) int {
	start := stripQuotePrefix(raw[i])
	if start == "" || moreRunes(start, 200) || !attributionStart(start) {
		return 0
	}
	if r, _ := utf8.DecodeLastRuneInString(start); (r == ':' && !endsWithMailto(start)) || r == '：' || r == '?' || r == '!' {
		return 0
	}
	startIsMarker := isMarker(start)
	joined, found := start, 0
	for n := 1; n <= maxContinuation && i+n < len(raw); n++ {
		cont := strings.TrimSpace(raw[i+n])
		if cont == "" || moreRunes(cont, 120) {
			break
		}
		// A continuation that starts an attribution of its own belongs to
		// that one: never glue two headers (or a sentence and a header).
		if c := stripQuotePrefix(cont); startsWithOnWord(c) || (startsWithDate(c) && hasDigit(start)) ||
			(isMarker(c) && !continuesAddress(c)) {
			break
		}
		joined += " " + cont
		switch {
		case !isMarker(joined):
			continue
		case endsWithColon(joined) && (found == 0 || isAttribution(joined)):
			// Complete: "… <jane@example.com>\na écrit :".
			return n
		case found == 0 && !startIsMarker:
			// Already a marker ("Le …, "Jane" <jane@example.com>"), but a
			// "wrote" line may still follow.
			found = n
		}
	}
	return found
}

// continuesAddress reports a line that finishes an address begun on the line
// above ("jane@example.com> wrote:", "<jane@example.com> wrote:") or that
// has none ("a écrit :"), rather than one naming a new sender.
// Outlook writes a linked address as "jane@example.com<mailto:jane@example.com>"
// and may wrap the line inside the link: "mailto:jane@example.com> wrote:".
func continuesAddress(s string) bool {
	if len(s) >= len("mailto:") && strings.EqualFold(s[:len("mailto:")], "mailto:") {
		s = s[len("mailto:"):]
	}
	return strings.HasPrefix(s, "<") || leadingAddress.MatchString(s) || !hasEmail(s)
}

// endsWithMailto reports a line wrapped inside a link, right after its
// "mailto:": the colon ends no attribution.
func endsWithMailto(s string) bool {
	return len(s) >= len("mailto:") && strings.EqualFold(s[len(s)-len("mailto:"):], "mailto:")
}

func endsWithColon(s string) bool {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	return strings.HasSuffix(s, ":") || strings.HasSuffix(s, "：")
}

// stripQuotePrefix removes leading whitespace and '>' quote markers.
func stripQuotePrefix(s string) string {
	return strings.TrimLeftFunc(s, func(r rune) bool { return r == '>' || unicode.IsSpace(r) })
}

// normaliseQuotes rewrites Supercite ("JD> text") and pipe ("| text") quote
// prefixes to '>' so one rule handles all quotes. A prefix counts only when
// at least two consecutive lines share it: "A> B" once is more likely text,
// and a Markdown table row has more than one '|'.
func normaliseQuotes(lines []line) {
	for i := 0; i < len(lines); {
		p := altQuotePrefix(lines[i])
		if p == "" {
			i++
			continue
		}
		j := i + 1
		for j < len(lines) && altQuotePrefix(lines[j]) == p {
			j++
		}
		if j-i >= 2 {
			for k := i; k < j; k++ {
				rest := strings.TrimPrefix(strings.TrimLeftFunc(lines[k].text, unicode.IsSpace), p)
				lines[k].text = ">" + rest
			}
		}
		i = j
	}
}

// altQuotePrefix returns "|" or a Supercite prefix such as "C>" when the line
// starts with one, else "".
func altQuotePrefix(l line) string {
	if len(l.raw) != 1 {
		return ""
	}
	s := strings.TrimLeftFunc(l.text, unicode.IsSpace)
	if rest, ok := strings.CutPrefix(s, "|"); ok {
		if (rest == "" || rest[0] == ' ') && !strings.Contains(rest, "|") {
			return "|"
		}
		return ""
	}
	n := 0
	for n < len(s) && n < 4 && isASCIILetter(s[n]) {
		n++
	}
	if n == 0 || n > 3 || n >= len(s) || s[n] != '>' {
		return ""
	}
	if rest := s[n+1:]; rest != "" && rest[0] != ' ' && rest[0] != '>' {
		return ""
	}
	return s[:n+1]
}

func isASCIILetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }
