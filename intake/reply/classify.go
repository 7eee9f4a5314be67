package reply

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line kinds. Each is one letter so that a body becomes a string such as
// "teteebeqqq" and the cutting rules can be regular expressions over it.
const (
	kindText      = 't'
	kindEmpty     = 'e'
	kindQuote     = 'q' // starts with '>'
	kindDelimiter = 'd' // "-- ", "______", "-----": everything below is cut
	kindSignature = 's' // "Sent from my iPhone" and friends
	kindMarker    = 'b' // an embedded mail begins: "On … wrote:", "-----Original Message-----"
	kindHeader    = 'h' // "From: …", "Sent: …" of an Outlook-style header block
)

// classifyAll sets the kind of every line, then applies the rules that need
// other lines to decide.
func classifyAll(lines []line) {
	for i := range lines {
		lines[i].kind = classify(lines[i].text)
	}
	unfenceRules(lines)
	keepPastedCode(lines)
	for i := range lines {
		switch lines[i].kind {
		case kindDelimiter:
			// "________" right above "From: …" is Outlook's reply separator:
			// it opens the embedded mail rather than a signature.
			if i+1 < len(lines) && lines[i+1].kind == kindHeader {
				lines[i].kind = kindMarker
			}
		case kindText:
			// "Bob wrote:" carries no date or address, so it is only an
			// attribution when a quote follows it.
			if isBareAttribution(lines[i].text) && quoteFollows(lines, i) {
				lines[i].kind = kindMarker
			}
		}
	}
}

// unfenceRules turns pairs of identical rule lines ("-----") with text
// between them and text after them back into text: such rules fence a
// pasted log or snippet, they do not start a signature or footer. "--" and
// "—" keep their meaning as signature separators.
func unfenceRules(lines []line) {
	textAfter := make([]bool, len(lines)+1) // textAfter[i]: text at i or later
	for i := len(lines) - 1; i >= 0; i-- {
		textAfter[i] = textAfter[i+1] || lines[i].kind == kindText
	}
	open := make(map[string]int) // rule → index of its opening line
	texts := 0                   // text lines seen so far
	textsAt := make(map[string]int)
	for i, l := range lines {
		switch l.kind {
		case kindText:
			texts++
			continue
		case kindDelimiter:
		default:
			continue
		}
		rule := strings.TrimSpace(l.text)
		if rule == "--" || rule == "—" || strings.Trim(rule, "ᐧ \t") == "" {
			continue
		}
		if o, ok := open[rule]; ok && texts > textsAt[rule] && textAfter[i+1] {
			lines[o].kind, lines[i].kind = kindText, kindText
			delete(open, rule)
			continue
		}
		open[rule], textsAt[rule] = i, texts
	}
}

func quoteFollows(lines []line, i int) bool {
	for j := i + 1; j < len(lines); j++ {
		switch lines[j].kind {
		case kindEmpty:
			continue
		case kindQuote:
			return true
		default:
			return false
		}
	}
	return false
}

// classify decides the kind of one line on its own.
func classify(s string) byte {
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return kindEmpty
	case t[0] == '>':
		return kindQuote
	case isDelimiter(t):
		return kindDelimiter
	case isMobileSignature(t):
		return kindSignature
	case isMarker(t):
		return kindMarker
	case isHeader(t):
		return kindHeader
	}
	return kindText
}

// isDelimiter reports a line made only of rule characters ("--", "-- ",
// "_______", "***", "====") or of Gmail's invisible tracking mark U+1427.
func isDelimiter(t string) bool {
	if strings.Trim(t, "ᐧ \t") == "" || t == "—" {
		// A lone em dash is "--" after smart-punctuation autocorrect.
		return true
	}
	n := 0
	for _, r := range t {
		if !strings.ContainsRune("-_=*#~+—–─━", r) {
			return false
		}
		n++
	}
	return n >= 2
}

// isMarker reports a line that introduces an embedded (quoted or forwarded)
// mail.
func isMarker(t string) bool {
	return isForwardMarker(t) || isAttribution(t) || isDateNameAddress(t)
}

// attributionStart reports a line that may be the first part of an
// attribution a client wrapped over several lines.
func attributionStart(s string) bool {
	if startsWithOnWord(s) || startsWithDate(s) {
		return true
	}
	return hasEmail(s) && (containsWroteWord(strings.ToLower(s)) || nameAddress.MatchString(s))
}

// isAttribution reports "On <date>, <name> <addr> wrote:" in its many
// languages and orders. A line must end with the "wrote" word (or contain it
// and end with a colon, as German and Scandinavian clients put it first) and
// must carry evidence of being generated: a time, an address, or a date
// after the leading "On"-word.
func isAttribution(s string) bool {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "-–—"))
	if s == "" || moreRunes(s, 400) {
		return false
	}
	if endsWithColon(s) && hasEmail(s) && startsWithAny(s, quotingWords) {
		return true // "Quoting Jane <jane@example.com>:"
	}
	// The evidence is cheap to look for and most lines have none: check it
	// before lower-casing the line for the "wrote" words.
	if !hasTime(s) && !hasEmail(s) && !(startsWithOnWord(s) && hasDigit(s)) {
		return false
	}
	low := strings.ToLower(s)
	return endsWithWroteWord(low) || endsWithColon(low) && containsWroteWord(low)
}

// endsWithWroteWord reports a lower-cased line ending in a "wrote" word,
// optionally followed by "(a)" and a colon.
func endsWithWroteWord(low string) bool {
	s := strings.TrimRightFunc(low, func(r rune) bool { return unicode.IsSpace(r) || r == ':' || r == '：' })
	s = strings.TrimSuffix(strings.TrimSuffix(s, "(a)"), "(а)") // Latin or Cyrillic a
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	for _, w := range wroteWords {
		if before, ok := strings.CutSuffix(s, w); ok && wordBoundaryBefore(before) {
			return true
		}
	}
	for _, w := range cjkWroteWords {
		if strings.HasSuffix(s, w) {
			return true
		}
	}
	return false
}

// containsWroteWord reports a "wrote" word standing as a word anywhere in a
// lower-cased line.
func containsWroteWord(low string) bool {
	for _, w := range cjkWroteWords {
		if strings.Contains(low, w) {
			return true
		}
	}
	for _, w := range wroteWords {
		for off := 0; ; {
			i := strings.Index(low[off:], w)
			if i < 0 {
				break
			}
			i += off
			after := low[i+len(w):]
			r, _ := utf8.DecodeRuneInString(after)
			if wordBoundaryBefore(low[:i]) && (after == "" || unicode.IsSpace(r) || strings.ContainsRune("(,:：", r)) {
				return true
			}
			off = i + len(w)
		}
	}
	return false
}

// wordBoundaryBefore reports whether a word may start right after s.
func wordBoundaryBefore(s string) bool {
	if s == "" {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsSpace(r) || strings.ContainsRune(`>"'»)]`, r)
}

// isBareAttribution reports a short "Name wrote:" line without evidence.
func isBareAttribution(s string) bool {
	t := strings.TrimSpace(s)
	return endsWithColon(t) && !moreRunes(t, 100) && endsWithWroteWord(strings.ToLower(t))
}

// isDateNameAddress reports Gmail's and Yandex's "2016-03-03 17:21 GMT+01:00
// Jane <jane@example.com>:" and mail.ru's "Thu, 26 Jun 2014 14:00 +0400 от
// Jane <jane@example.com>:" attribution lines.
func isDateNameAddress(s string) bool {
	t := strings.TrimSpace(s)
	if moreRunes(t, 250) || strings.Contains(t, "=") || !startsWithDate(t) {
		return false
	}
	gmt := gmtOffset.MatchString(t)
	if !gmt && !angleAddress.MatchString(t) {
		return false
	}
	if gmt {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(t)
	return r == ':' || r == '：' || r == '>'
}

// isForwardMarker reports "-----Original Message-----", "---------- Forwarded
// message ---------", "Begin forwarded message:" and their translations.
func isForwardMarker(s string) bool {
	t := strings.TrimSpace(s)
	ruled := false
	for _, p := range []string{"--", "__", "==", "—", "**"} {
		if strings.HasPrefix(t, p) {
			ruled = true
		}
	}
	core := strings.TrimFunc(t, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("-_=*:：—–<>", r)
	})
	// Lower-casing maps rune to rune: check the length before paying for it.
	if core == "" || moreRunes(core, 60) {
		return false
	}
	core = strings.ToLower(core)
	for _, p := range forwardPhrases {
		if ruled && strings.Contains(core, p) || core == p {
			return true
		}
	}
	for _, p := range beginForwardPhrases {
		if strings.HasPrefix(core, p) {
			return true
		}
	}
	return false
}

// isHeader reports one line of a mail header block ("From: …", "Betreff: …",
// "*De :* …").
func isHeader(t string) bool {
	return headerKeySet[headerKey(t)]
}

// isSenderHeader reports a header line naming the sender ("From: …").
func isSenderHeader(t string) bool {
	return senderKeySet[headerKey(stripQuotePrefix(t))]
}

// headerKey returns the lower-cased field name of a "Name: value" line, or "".
func headerKey(t string) string {
	i := fieldColon(t)
	if i <= 0 || i > 40 {
		return ""
	}
	return strings.ToLower(strings.TrimFunc(t[:i], func(r rune) bool { return unicode.IsSpace(r) || r == '*' || r == '_' }))
}

// fieldColon returns strings.IndexAny(t, ":：") if that is below 42, else
// -1: headerKey needs no more, so only the start of t is searched. The lead
// byte of "：" (EF BC 9A) is never a UTF-8 continuation byte, so a byte
// search finds it where the rune search would.
func fieldColon(t string) int {
	n := min(len(t), 42)
	for i := 0; i < n; i++ {
		switch t[i] {
		case ':':
			return i
		case 0xEF:
			if i+2 < len(t) && t[i+1] == 0xBC && t[i+2] == 0x9A {
				return i
			}
		}
	}
	return -1
}

// moreRunes reports utf8.RuneCountInString(s) > n; a string of at most n
// bytes is not counted.
func moreRunes(s string, n int) bool {
	return len(s) > n && utf8.RuneCountInString(s) > n
}

// onWordLead holds the first bytes of onWords.
var onWordLead = func() (lead [256]bool) {
	for _, w := range onWords {
		lead[w[0]] = true
	}
	return lead
}()

// startsWithOnWord reports a line opening with the word clients put before
// the date of an attribution ("On", "Am", "Le", "El", "W dniu", "在", …).
func startsWithOnWord(s string) bool {
	if s == "" || !onWordLead[s[0]] {
		return false
	}
	for _, w := range onWords {
		rest, ok := strings.CutPrefix(s, w)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		r, _ := utf8.DecodeRuneInString(rest)
		if unicode.IsSpace(r) || r == ',' || !unicode.Is(unicode.Latin, r) && !unicode.Is(unicode.Cyrillic, r) {
			return true
		}
	}
	return false
}

func startsWithAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// startsWithDate reports a line opening with a date (dateLead).
func startsWithDate(s string) bool { return mayStartWithDate(s) && dateLead.MatchString(s) }

// mayStartWithDate is a cheap necessary condition for dateLead, which most
// lines fail within their first word or two. Before its first ASCII digit
// (\d is [0-9]) dateLead allows at most two runs of letters, of 2 to 12
// and of 3 to 12, each followed by an optional '.', an optional ',' and
// white space; then the digits must go on as one of its dates can.
func mayStartWithDate(s string) bool {
	i := 0
	for run := 0; run < 2; run++ {
		if i < len(s) && '0' <= s[i] && s[i] <= '9' {
			return mayContinueDate(s[i:])
		}
		n := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsLetter(r) {
				break
			}
			n++
			i += size
		}
		if n < 2+run || n > 12 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
		}
		if i < len(s) && s[i] == ',' {
			i++
		}
		spaces := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !isHSpace(r) {
				break
			}
			spaces++
			i += size
		}
		if spaces == 0 {
			return false
		}
	}
	return i < len(s) && '0' <= s[i] && s[i] <= '9' && mayContinueDate(s[i:])
}

// mayContinueDate reports whether the run of digits that starts s can begin
// one of dateLead's dates: 1 to 4 digits and '-', '.' or '/'
// ("2016-03-03", "26.06.2014"); 1 or 2 digits and '.', ',' or white space
// ("26 Jun 2014", "1, 2016"); 4 digits and white space, 年 or 년 ("2016年").
func mayContinueDate(s string) bool {
	k := 0
	for k < len(s) && '0' <= s[k] && s[k] <= '9' {
		k++
	}
	if k == len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[k:])
	switch {
	case k <= 4 && (r == '-' || r == '.' || r == '/'):
		return true
	case k <= 2 && (r == ',' || isHSpace(r)):
		return true
	case k == 4 && (isHSpace(r) || r == '年' || r == '년'):
		return true
	}
	return false
}

// isHSpace reports the runes of hspace: \s (ASCII) and \p{Zs}.
func isHSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return r >= utf8.RuneSelf && unicode.Is(unicode.Zs, r)
}

// hasTime reports a time of day ("10:15"); without a colon there is none.
func hasTime(s string) bool { return strings.IndexByte(s, ':') >= 0 && timeOfDay.MatchString(s) }

func hasEmail(s string) bool { return strings.Contains(s, "@") && emailAddress.MatchString(s) }

func hasDigit(s string) bool {
	return strings.IndexFunc(s, unicode.IsDigit) >= 0
}
