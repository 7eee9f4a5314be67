package parse

import (
	"bytes"
	"sort"
	"strings"
)

// Limits that keep hostile nesting from costing more than a normal mail.
const (
	maxDepth    = 40   // multipart nesting levels
	maxEntities = 2000 // MIME parts per message
)

// entity is one node of the MIME tree.
type entity struct {
	header    Header
	mediaType string            // lower-case "type/subtype"
	params    map[string]string // Content-Type parameters
	disp      string            // "inline", "attachment" or ""
	dparams   map[string]string // Content-Disposition parameters
	body      []byte            // raw, still transfer-encoded body of a leaf
	bodyAt    int               // offset of body in the data parseTop read
	parts     []*entity         // children of a multipart

	decoded  []byte // transfer-decoded body, filled on first use
	done     bool
	text     string // charset-decoded text of a text part, filled on first use
	textDone bool

	raw     []rawField // header as read, kept to re-decode 8-bit values
	guessed []string   // fields whose 8-bit charset was guessed
}

func (e *entity) isMultipart() bool { return len(e.parts) > 0 }

// parseTop reads the top-level entity. Leading blank lines (some stores
// prepend one) are skipped; ok is false when there is no header at all.
func (p *parser) parseTop(data []byte) (*entity, bool) {
	for len(data) > 0 {
		line, next := nextLine(data, 0)
		if len(bytes.TrimSpace(line)) != 0 {
			break
		}
		data = data[next:]
		p.dataAt += next
	}
	fields, bodyAt, skipped := splitHeader(data)
	var e *entity
	if len(fields) == 0 {
		// No header at all: an MTA would have added one. Keep the whole
		// input as the body so the mail can still be looked at and kept.
		p.problem("no header section: the whole input is read as the body")
		data = append([]byte("\n"), data...)
		p.dataAt--
		e, _ = p.parseEntity(data, 0, nil, "text/plain")
	} else {
		e, _ = p.parseSplitEntity(data, 0, nil, "text/plain", fields, bodyAt, skipped)
	}
	if len(e.guessed) > 0 {
		// Mailers that put raw 8-bit text in the header use the charset
		// of their text body; a multipart top level declares none itself.
		if cs := firstTextCharset(e); cs != "" {
			e.header, e.guessed = buildHeader(e.raw, cs)
		}
	}
	for _, g := range e.guessed {
		p.problem("undeclared 8-bit header %s", g)
	}
	return e, true
}

// firstTextCharset returns the first non-UTF-8 charset a text part declares.
func firstTextCharset(e *entity) string {
	if !e.isMultipart() {
		cs := e.params["charset"]
		if strings.HasPrefix(e.mediaType, "text/") && cs != "" && !isUTF8Name(cs) && !isASCIIName(cs) {
			return cs
		}
		return ""
	}
	for _, c := range e.parts {
		if cs := firstTextCharset(c); cs != "" {
			return cs
		}
	}
	return ""
}

// parseEntity reads the entity starting at data[start:]. bounds holds the
// boundaries of the enclosing multiparts, innermost last: a delimiter line
// of any of them ends the entity (RFC 2046 5.1.2: an inner part must not
// contain an outer boundary), which also recovers from inner multiparts
// that never close. It returns the entity and the offset where it ended.
// defaultType applies when Content-Type is missing (message/rfc822 inside
// multipart/digest).
func (p *parser) parseEntity(data []byte, start int, bounds []boundary, defaultType string) (*entity, int) {
	fields, bodyAt, skipped := splitHeader(data[start:])
	return p.parseSplitEntity(data, start, bounds, defaultType, fields, bodyAt, skipped)
}

// parseSplitEntity is parseEntity given what splitHeader(data[start:])
// returns.
func (p *parser) parseSplitEntity(data []byte, start int, bounds []boundary, defaultType string,
	fields []rawField, bodyAt, skipped int) (*entity, int) {
	p.entities++
	if d := findDelimiter(data, start, start+bodyAt, bounds); d.found {
		// The part ended inside what looked like its header.
		fields, bodyAt, skipped = splitHeader(data[start:d.line])
		if start+bodyAt > d.line {
			bodyAt = d.line - start
		}
	}
	if skipped > 0 && len(bounds) > 0 {
		p.problem("skipped %d malformed header line(s) in a MIME part", skipped)
	}
	e := &entity{raw: fields}
	e.header, e.guessed = buildHeader(fields, declaredCharset(fields))
	if len(bounds) > 0 {
		for _, g := range e.guessed {
			p.problem("undeclared 8-bit header %s in a MIME part", g)
		}
	}
	e.mediaType, e.params = defaultType, map[string]string{}
	if ct := e.header.Get("Content-Type"); ct != "" {
		mt, params := parseMediaType(ct)
		if !strings.Contains(mt, "/") || strings.HasPrefix(mt, "/") || strings.HasSuffix(mt, "/") {
			p.problem("invalid Content-Type %q read as text/plain", truncate(ct, 60))
			mt = "text/plain"
		}
		e.mediaType, e.params = mt, params
	}
	if cd := e.header.Get("Content-Disposition"); cd != "" {
		e.disp, e.dparams = parseMediaType(cd)
	}
	bodyStart := start + bodyAt
	if strings.HasPrefix(e.mediaType, "multipart/") {
		mark := e.params["boundary"]
		switch {
		case mark == "":
			p.problem("%s without boundary read as text", e.mediaType)
			e.mediaType = "text/plain"
		case len(bounds) >= maxDepth || p.entities >= maxEntities:
			p.problem("MIME nesting too deep or too many parts: rest kept as an attachment")
			e.mediaType = "application/octet-stream"
		default:
			inner := append(bounds[:len(bounds):len(bounds)], boundary{s: mark})
			if end, ok := p.parseParts(e, data, bodyStart, inner); ok {
				return e, end
			}
			// No delimiter line as RFC 2046 writes it. Mailers and gateways
			// that break boundaries leave text after the boundary on the
			// delimiter lines, change its case, or drop the opening
			// delimiter: read the parts in that looser way before giving up.
			// A boundary a gateway folded is cut at the blank, as a strict
			// reader of the parameter would have cut it.
			loose := mark
			if i := strings.IndexAny(loose, " \t"); i > 0 {
				loose = loose[:i]
			}
			inner[len(inner)-1] = boundary{s: loose, loose: true}
			if end, ok := p.parseParts(e, data, bodyStart, inner); ok {
				p.problem("%s boundary %q only found loosely (text after it, another case, or no opening delimiter)",
					e.mediaType, truncate(mark, 40))
				return e, end
			}
			// No part at all: read the body as text rather than lose it.
			p.problem("%s boundary %q never appears: body read as text", e.mediaType, truncate(mark, 40))
			e.mediaType = "text/plain"
		}
	}
	end := len(data)
	if d := findDelimiter(data, bodyStart, len(data), bounds); d.found {
		end = d.line
	}
	e.body, e.bodyAt = data[bodyStart:trimBreak(data, bodyStart, end)], bodyStart
	return e, end
}

// parseParts reads the parts of multipart e, whose own boundary is the last
// of bounds. It returns where the multipart ended, and false when no part
// was found.
func (p *parser) parseParts(e *entity, data []byte, pos int, bounds []boundary) (int, bool) {
	own := len(bounds) - 1
	child := "text/plain"
	if e.mediaType == "multipart/digest" {
		child = "message/rfc822"
	}
	for {
		d := findDelimiter(data, pos, len(data), bounds)
		if !d.found || d.level != own {
			// End of data, or an enclosing boundary: this multipart was
			// never closed.
			if len(e.parts) == 0 {
				return 0, false
			}
			if last := e.parts[len(e.parts)-1]; !d.found && gluedClose(last, bounds[own].s) {
				return len(data), true
			}
			p.problem("%s not terminated (truncated message?)", e.mediaType)
			if !d.found {
				return len(data), true
			}
			return d.line, true
		}
		if d.close {
			if len(e.parts) == 0 {
				// Only a close delimiter: in the loose reading, what
				// stands before it is the one part.
				if !bounds[own].loose || len(bytes.TrimSpace(data[pos:d.line])) == 0 {
					return 0, false
				}
				part, _ := p.parseEntity(data, pos, bounds, child)
				e.parts = append(e.parts, part)
			}
			// The epilogue runs to the next enclosing delimiter.
			if next := findDelimiter(data, d.next, len(data), bounds[:own]); next.found {
				return next.line, true
			}
			return len(data), true
		}
		if p.entities >= maxEntities {
			p.problem("too many MIME parts: the rest is ignored")
			return len(data), true
		}
		part, end := p.parseEntity(data, d.next, bounds, child)
		e.parts = append(e.parts, part)
		pos = end
	}
}

// gluedClose handles a close delimiter written without the line break
// before it ("last line--boundary--" at the very end of the mail): it is cut
// from the last part, which then ends where the sender meant.
func gluedClose(last *entity, boundary string) bool {
	if last.isMultipart() {
		return false
	}
	body := bytes.TrimRight(last.body, " \t\r\n")
	closeDelim := "--" + boundary + "--"
	if !bytes.HasSuffix(body, []byte(closeDelim)) {
		return false
	}
	last.body = body[:len(body)-len(closeDelim)]
	return true
}

// delimiter is a boundary line found by findDelimiter.
type delimiter struct {
	found bool
	line  int  // offset of the line
	next  int  // offset after the line
	level int  // index in bounds of the boundary it belongs to
	close bool // "--boundary--"
}

// findDelimiter finds the first delimiter line of any boundary in bounds
// that starts in data[from:to]. The innermost boundary is tried first, so
// nested boundaries that share a prefix resolve the way the sender meant.
func findDelimiter(data []byte, from, to int, bounds []boundary) delimiter {
	if len(bounds) == 0 {
		return delimiter{}
	}
	for pos := from; pos < to && pos < len(data); {
		i := pos
		if i > 0 && data[i-1] != '\n' || !bytes.HasPrefix(data[i:], dashes) {
			j := bytes.Index(data[pos:], lineDashes)
			if j < 0 {
				return delimiter{}
			}
			i = pos + j + 1
			if i >= to {
				return delimiter{}
			}
		}
		line, next := nextLine(data, i)
		for level := len(bounds) - 1; level >= 0; level-- {
			if ok, isClose := isDelimiterLine(line, bounds[level]); ok {
				return delimiter{found: true, line: i, next: next, level: level, close: isClose}
			}
		}
		pos = next
	}
	return delimiter{}
}

var (
	dashes     = []byte("--")
	lineDashes = []byte("\n--")
)

// boundary is the boundary of an enclosing multipart. A loose one also
// matches delimiter lines with text after the boundary or in another case,
// and a close delimiter is then any such line that ends in "--".
type boundary struct {
	s     string
	loose bool
}

// isDelimiterLine reports whether line is "--boundary" (optionally followed
// by blanks) or the close delimiter "--boundary--".
func isDelimiterLine(line []byte, b boundary) (ok, isClose bool) {
	if len(line) < 2+len(b.s) {
		return false, false
	}
	if head := line[2 : 2+len(b.s)]; string(head) != b.s && !(b.loose && bytes.EqualFold(head, []byte(b.s))) {
		return false, false
	}
	rest := line[2+len(b.s):]
	if bytes.HasPrefix(rest, dashes) {
		return true, true
	}
	if b.loose {
		return true, bytes.HasSuffix(bytes.TrimRight(rest, " \t\r"), dashes)
	}
	return len(bytes.TrimRight(rest, " \t\r")) == 0, false
}

// trimBreak returns the end of a part's content: the line break before a
// delimiter belongs to the delimiter.
func trimBreak(data []byte, start, end int) int {
	if end > start && end < len(data) && data[end-1] == '\n' {
		return end - 1
	}
	return end
}

// decodedBody returns the transfer-decoded body of a leaf, decoding once.
func (p *parser) decodedBody(e *entity) []byte {
	if !e.done {
		e.decoded = p.decodeTransfer(e.header.Get("Content-Transfer-Encoding"), e.body)
		e.done = true
	}
	return e.decoded
}

// wireBody returns the body of leaf e exactly as it came: the bytes of the
// raw mail, with the CR of every CR LF pair that the line-ending
// normalisation took away. Parts sent as binary or 8bit data are content
// byte for byte; a PNG's signature holds a CR LF.
func (p *parser) wireBody(e *entity) []byte {
	if p.owned {
		return p.ownedWireBody(e)
	}
	if p.raw == nil {
		return e.body
	}
	if p.crlf == nil {
		// Where in the normalised data each removed CR stood: before the
		// LF at that offset. Built only when a part needs it.
		p.crlf = []int{}
		removed := 0
		for i := 0; i+1 < len(p.raw); i++ {
			if p.raw[i] == '\r' && p.raw[i+1] == '\n' {
				p.crlf = append(p.crlf, i-removed)
				removed++
			}
		}
	}
	start := p.dataAt + e.bodyAt
	end := start + len(e.body)
	if start < 0 {
		return e.body
	}
	start += sort.SearchInts(p.crlf, start)
	end += sort.SearchInts(p.crlf, end)
	return p.raw[start:end]
}

// truncate shortens s for problem messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// ownedWireBody is wireBody after ParseOwned: the normalised bytes of e's
// body with the CRs taken out put back.
func (p *parser) ownedWireBody(e *entity) []byte {
	start := p.dataAt + e.bodyAt
	end := start + len(e.body)
	if start < 0 || end > len(p.norm) {
		return e.body
	}
	first, last := sort.SearchInts(p.crlf, start), sort.SearchInts(p.crlf, end)
	out := make([]byte, 0, end-start+last-first)
	at := start
	for _, lf := range p.crlf[first:last] {
		out = append(append(out, p.norm[at:lf]...), '\r')
		at = lf
	}
	out = append(out, p.norm[at:end]...)
	// A lone CR that was a line end is a CR again. Offsets move by the CRs
	// put back before them.
	for _, cr := range p.crs[sort.SearchInts(p.crs, start):sort.SearchInts(p.crs, end)] {
		out[cr-start+sort.SearchInts(p.crlf[first:last], cr)] = '\r'
	}
	return out
}
