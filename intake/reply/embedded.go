package reply

import "strings"

// ExtractEmbedded splits a mail that embeds another one (a forward, or a
// reply over an Outlook header block) into the text written before it and
// the embedded mail, which starts at its header block ("From: …") or, when
// there is none, at its attribution ("On … wrote:"). Forward markers and
// rules between the two ("---------- Forwarded message ---------",
// "______") belong to neither. Without an embedded mail, before is the whole
// text and embedded is empty. Both are trimmed of surrounding whitespace.
func ExtractEmbedded(text string) (before, embedded string) {
	lines := buildLines(splitLines(text))
	var p strings.Builder
	for _, l := range lines {
		p.WriteByte(l.kind)
	}
	start, _ := headerBlock(p.String(), 0, func(pos int) bool { return isSenderHeader(lines[pos].text) })
	if start < 0 {
		start = firstAttribution(lines)
	}
	if start < 0 {
		return strings.TrimSpace(joinRaw(lines)), ""
	}
	end := start
	for end > 0 && separatesEmbedded(lines[end-1]) {
		end--
	}
	return strings.TrimSpace(joinRaw(lines[:end])), strings.TrimSpace(joinRaw(lines[start:]))
}

// firstAttribution returns the first unquoted attribution line, or the line
// after the first forward marker, or -1.
func firstAttribution(lines []line) int {
	for i, l := range lines {
		if l.kind != kindMarker {
			continue
		}
		t := strings.TrimSpace(l.text)
		if isForwardMarker(t) || isDelimiter(t) {
			return i + 1
		}
		return i
	}
	return -1
}

// separatesEmbedded reports lines between the text before and the embedded
// mail: blank lines, forward markers and rules.
func separatesEmbedded(l line) bool {
	t := strings.TrimSpace(l.text)
	return t == "" || isDelimiter(t) || isForwardMarker(t)
}

func joinRaw(lines []line) string {
	var out []string
	for _, l := range lines {
		out = append(out, l.raw...)
	}
	return strings.Join(out, "\n")
}
