package parse

import (
	"bytes"
	"strings"
)

// decodeTransfer undoes a Content-Transfer-Encoding. Every decoder here is
// lenient: bad input yields the bytes that could be read and a problem, so
// a slightly broken attachment is still delivered. The result never shares
// memory with the caller's raw message.
func (p *parser) decodeTransfer(cte string, body []byte) []byte {
	if identityEncoding(cte) {
		// The parser's own bytes: text is made a string of them, and an
		// attachment takes its bytes from the wire (wireBody), each a copy.
		return body
	}
	switch enc := strings.ToLower(strings.TrimSpace(cte)); enc {
	case "base64", "x-base64":
		out, invalid, read := decodeBase64Body(body)
		switch {
		case invalid*100 > read:
			// Not base64 at all (a mislabelled part): keep it as it came.
			p.problem("part labelled base64 is not base64: kept as is")
			return bytes.Clone(body)
		case read < len(body):
			p.problem("junk after the base64 data ignored (a damaged boundary?)")
		case invalid > 0:
			p.problem("invalid base64 data decoded leniently")
		}
		return out
	case "quoted-printable", "x-quoted-printable", "quotedprintable", "qp":
		return decodeQuotedPrintable(body)
	case "x-uuencode", "uuencode", "x-uue", "uue":
		if f, ok := uudecodeBlock(body); ok {
			return f.data
		}
		p.problem("undecodable uuencoded part kept as is")
		return bytes.Clone(body)
	default:
		p.problem("unknown transfer encoding %q: body kept as is", truncate(cte, 40))
		return bytes.Clone(body)
	}
}

// identityEncoding reports a Content-Transfer-Encoding that leaves the
// bytes as they are.
func identityEncoding(cte string) bool {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit", "none", "plain", "text":
		return true
	}
	return false
}

// decodeBase64Body decodes a base64 body line by line, as decodeBase64
// does, and stops at a line of junk after the data: a line in which more
// than one character in ten is not base64, such as the remains of a
// damaged boundary or a footer a list appended. read is how much of src
// was decoded, invalid how many of its characters were skipped.
func decodeBase64Body(src []byte) (out []byte, invalid, read int) {
	out = make([]byte, 0, len(src)*3/4)
	var d base64Decoder
	for pos := 0; pos < len(src); {
		end := len(src)
		if i := bytes.IndexByte(src[pos:], '\n'); i >= 0 {
			end = pos + i + 1
		}
		line := src[pos:end]
		if bad := base64Junk(line); bad > 0 && bad*10 > len(bytes.TrimSpace(line)) && (len(out) > 0 || d.n > 0) {
			break
		}
		out = d.write(out, line)
		pos = end
		read = end
	}
	out = d.flush(out)
	return out, d.invalid, read
}

// base64Junk counts the characters of line that base64 has no place for.
func base64Junk(line []byte) int {
	n := 0
	for _, c := range line {
		if base64Value(c) < 0 && c != '=' && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			n++
		}
	}
	return n
}

// base64Decoder is the state of decodeBase64 between chunks of input.
type base64Decoder struct {
	acc     uint32
	n       int
	invalid int
}

// write decodes src onto out.
func (d *base64Decoder) write(out, src []byte) []byte {
	for _, c := range src {
		v := base64Value(c)
		if v < 0 {
			switch c {
			case '=':
				// Padding ends a quantum; flush what it carried.
				d.n = flushBase64(&out, d.acc, d.n)
				d.acc = 0
			case ' ', '\t', '\r', '\n':
			default:
				d.invalid++
			}
			continue
		}
		d.acc = d.acc<<6 | uint32(v)
		d.n++
		if d.n == 4 {
			out = append(out, byte(d.acc>>16), byte(d.acc>>8), byte(d.acc))
			d.acc, d.n = 0, 0
		}
	}
	return out
}

// flush emits what a last partial quantum carries.
func (d *base64Decoder) flush(out []byte) []byte {
	if d.n == 1 {
		d.invalid++ // a single leftover digit carries no full byte
	}
	d.n = flushBase64(&out, d.acc, d.n)
	return out
}

// decodeBase64 decodes base64 while skipping line breaks, blanks and stray
// characters, and tolerating missing or early padding (several encoded
// chunks glued together). invalid counts the characters it had to skip.
func decodeBase64(src []byte) (out []byte, invalid int) {
	var d base64Decoder
	out = d.flush(d.write(make([]byte, 0, len(src)*3/4), src))
	return out, d.invalid
}

// flushBase64 emits the bytes of a partial quantum of n digits.
func flushBase64(out *[]byte, acc uint32, n int) int {
	switch n {
	case 2:
		*out = append(*out, byte(acc>>4))
	case 3:
		*out = append(*out, byte(acc>>10), byte(acc>>2))
	}
	return 0
}

// decodeQuotedPrintable decodes RFC 2045 quoted-printable: soft line breaks
// are removed, trailing blanks dropped, and an "=" not followed by two hex
// digits is kept literally instead of failing the part.
func decodeQuotedPrintable(src []byte) []byte {
	out := make([]byte, 0, len(src))
	for len(src) > 0 {
		line := src
		nl := bytes.IndexByte(src, '\n')
		hasNL := nl >= 0
		if hasNL {
			line, src = src[:nl], src[nl+1:]
		} else {
			src = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		soft := false
		if len(line) > 0 && line[len(line)-1] == '=' {
			soft = true
			line = line[:len(line)-1]
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '=' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
				out = append(out, unhex(line[i+1])<<4|unhex(line[i+2]))
				i += 2
				continue
			}
			out = append(out, c)
		}
		if hasNL && !soft {
			out = append(out, '\n')
		}
	}
	return out
}
