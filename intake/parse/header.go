package parse

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Field is one header field: its name as written, and its value unfolded and
// converted to UTF-8 but not RFC 2047-decoded.
type Field struct {
	Name  string
	Value string
}

// Header is the ordered list of fields of a message or MIME part. Lookups
// are case-insensitive.
type Header struct {
	fields []Field
}

// Get returns the value of the first field called name, or "".
func (h Header) Get(name string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns the values of every field called name, in order.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Has reports whether a field called name is present, even if empty.
func (h Header) Has(name string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Text returns the first value of name with RFC 2047 encoded words decoded;
// when they cannot be decoded it returns the value as written.
func (h Header) Text(name string) string {
	s, _ := decodeWords(h.Get(name))
	return s
}

// Fields returns a copy of all fields in order.
func (h Header) Fields() []Field {
	return append([]Field(nil), h.fields...)
}

// Len returns the number of fields.
func (h Header) Len() int { return len(h.fields) }

// rawField is a header field before its value is converted to UTF-8.
type rawField struct {
	name  string
	value []byte
}

// lookaheadLines is how far splitHeader looks past a line that is not a
// field to decide whether the header goes on after it.
const lookaheadLines = 5

// splitHeader reads the header block at the start of data and returns its
// fields, where the body starts, and how many junk lines it skipped.
//
// Real mail breaks the grammar in many ways: an mbox "From " line on top, a
// stray line without a colon, a part with no blank line before its body. A
// junk line is skipped when more fields follow it; otherwise it is taken as
// the start of the body, so no content is lost.
func splitHeader(data []byte) (fields []rawField, bodyAt int, skipped int) {
	// Room for a field per line up to the first blank line, if the first
	// few KB hold one; the loop below decides what the lines are.
	if end := bytes.Index(data[:min(len(data), 8<<10)], []byte("\n\n")); end >= 0 {
		fields = make([]rawField, 0, bytes.Count(data[:end], []byte("\n"))+1)
	}
	pos := 0
	for pos < len(data) {
		line, next := nextLine(data, pos)
		if len(bytes.TrimRight(line, " \t\r")) == 0 {
			if len(line) == 0 || len(fields) == 0 || !foldGoesOn(data, next) {
				return fields, next, skipped
			}
			// A line of only blanks inside a folded field (obs-FWS).
			f := &fields[len(fields)-1]
			f.value = append(append(f.value, '\n'), line...)
			pos = next
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) > 0 {
				f := &fields[len(fields)-1]
				f.value = append(append(f.value, '\n'), line...)
				pos = next
				continue
			}
		} else if name, value, ok := splitField(line); ok {
			// The value shares data's memory; its capacity ends with it,
			// so appending a continuation line copies it.
			fields = append(fields, rawField{name: name, value: value[:len(value):len(value)]})
			pos = next
			continue
		}
		if len(fields) == 0 && pos == 0 && bytes.HasPrefix(line, []byte("From ")) {
			skipped++ // mbox separator line
			pos = next
			continue
		}
		// A junk line that starts with "--" is most likely a boundary: the
		// header ends there, whatever follows.
		if len(fields) == 0 || bytes.HasPrefix(line, []byte("--")) || !fieldFollows(data, next) {
			return fields, pos, skipped
		}
		skipped++
		pos = next
	}
	return fields, len(data), skipped
}

// foldGoesOn reports whether the line at pos continues a folded field
// after a line of only blanks, as RFC 5322's obsolete folding allows: a
// continuation line with text on it, after which the header goes on (a
// field, the blank line that ends the header, or the end of the data).
// It looks at most foldLookahead lines ahead, and takes a fold that is
// still going on by then to be one.
func foldGoesOn(data []byte, pos int) bool {
	if pos >= len(data) {
		return false
	}
	line, next := nextLine(data, pos)
	if len(bytes.TrimSpace(line)) == 0 || (line[0] != ' ' && line[0] != '\t') {
		return false
	}
	for n := 0; next < len(data) && n < foldLookahead; n++ {
		line, next = nextLine(data, next)
		switch {
		case len(bytes.TrimRight(line, "\r")) == 0:
			return true
		case line[0] == ' ' || line[0] == '\t':
		default:
			_, _, ok := splitField(line)
			return ok
		}
	}
	return true
}

// foldLookahead bounds foldGoesOn, so that a header of many blank lines
// costs linear time.
const foldLookahead = 20

// fieldFollows reports whether a header field starts within the next few
// lines, before any blank line.
func fieldFollows(data []byte, pos int) bool {
	for range lookaheadLines {
		if pos >= len(data) {
			return false
		}
		line, next := nextLine(data, pos)
		if len(bytes.TrimRight(line, " \t\r")) == 0 {
			return false
		}
		if line[0] != ' ' && line[0] != '\t' {
			if _, _, ok := splitField(line); ok {
				return true
			}
		}
		pos = next
	}
	return false
}

// splitField splits "Name: value". The name must be printable ASCII without
// spaces; blanks between name and colon are tolerated.
func splitField(line []byte) (name string, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return "", nil, false
	}
	key := bytes.TrimRight(line[:colon], " \t")
	if len(key) == 0 {
		return "", nil, false
	}
	for _, c := range key {
		if c < 33 || c > 126 {
			return "", nil, false
		}
	}
	return fieldName(key), line[colon+1:], true
}

// fieldName returns key as a string, without allocating for the common
// field names.
func fieldName(key []byte) string {
	switch string(key) {
	case "From":
		return "From"
	case "To":
		return "To"
	case "Cc":
		return "Cc"
	case "Subject":
		return "Subject"
	case "Date":
		return "Date"
	case "Message-ID":
		return "Message-ID"
	case "Message-Id":
		return "Message-Id"
	case "In-Reply-To":
		return "In-Reply-To"
	case "References":
		return "References"
	case "Reply-To":
		return "Reply-To"
	case "MIME-Version":
		return "MIME-Version"
	case "Content-Type":
		return "Content-Type"
	case "Content-Transfer-Encoding":
		return "Content-Transfer-Encoding"
	case "Content-Disposition":
		return "Content-Disposition"
	case "Received":
		return "Received"
	case "Return-Path":
		return "Return-Path"
	case "DKIM-Signature":
		return "DKIM-Signature"
	}
	return string(key)
}

// nextLine returns the line starting at pos (without its LF) and the offset
// of the line after it.
func nextLine(data []byte, pos int) (line []byte, next int) {
	i := bytes.IndexByte(data[pos:], '\n')
	if i < 0 {
		return data[pos:], len(data)
	}
	return data[pos : pos+i], pos + i + 1
}

// buildHeader converts raw fields to a Header: values are unfolded and 8-bit
// bytes decoded with hint (the charset the entity declares for its text),
// else as UTF-8 when valid, else by guess8bit. guessed names the fields
// whose charset had to be guessed, and how they were read.
func buildHeader(raw []rawField, hint string) (h Header, guessed []string) {
	h = Header{fields: make([]Field, 0, len(raw))}
	for _, f := range raw {
		v, how := headerText(f.value, hint)
		if how != "" {
			guessed = append(guessed, f.name+" as "+how)
		}
		h.fields = append(h.fields, Field{Name: f.name, Value: v})
	}
	return h, guessed
}

// declaredCharset returns the charset parameter of the Content-Type among
// raw fields, if any.
func declaredCharset(raw []rawField) string {
	for _, f := range raw {
		if strings.EqualFold(f.name, "Content-Type") && utf8.Valid(f.value) {
			_, params := parseMediaType(unfold(f.value))
			return params["charset"]
		}
	}
	return ""
}

// headerText unfolds a raw value and converts it to UTF-8. how is empty
// unless the charset had to be guessed.
func headerText(v []byte, hint string) (text, how string) {
	s := unfold(v)
	if strings.Contains(s, "\x1b") {
		// Raw ISO-2022-JP (7-bit escape sequences) without RFC 2047 words.
		if t, err := decodeCharset("iso-2022-jp", []byte(s)); err == nil {
			return t, ""
		}
	}
	if utf8.ValidString(s) {
		return s, ""
	}
	if strings.Contains(s, "=?") {
		// Raw 8-bit bytes inside Q words belong to the word's charset:
		// escape them before the rest of the value is converted.
		s = escapeRawInQWords(s)
		if utf8.ValidString(s) {
			return s, ""
		}
	}
	if hint != "" && !isUTF8Name(hint) && !isASCIIName(hint) {
		if t, err := decodeCharset(hint, []byte(s)); err == nil {
			return t, ""
		}
	}
	t, cs := guess8bit([]byte(s))
	return t, cs
}

// unfold joins continuation lines (RFC 5322 2.2.3: the line break goes, the
// blank that follows stays) and trims the value.
func unfold(v []byte) string {
	s := string(v)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(s)
	}
	return strings.TrimSpace(s)
}

// escapeRawInQWords rewrites raw 8-bit bytes inside Q-encoded words as =XX,
// which is what the sender meant (legacy clients skip the escaping).
func escapeRawInQWords(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '=' && i+1 < len(s) && s[i+1] == '?' {
			if _, _, n, ok := parseEncodedWord(s[i:]); ok {
				w := s[i : i+n]
				q := strings.IndexByte(w[2:], '?') + 2
				if q+1 < len(w) && (w[q+1] == 'q' || w[q+1] == 'Q') {
					for k := 0; k < len(w); k++ {
						if w[k] >= utf8.RuneSelf {
							fmt.Fprintf(&b, "=%02X", w[k])
						} else {
							b.WriteByte(w[k])
						}
					}
				} else {
					b.WriteString(w)
				}
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
