package parse

import (
	"strings"
)

// decodeWords decodes the RFC 2047 encoded words in a header value.
//
// It is more forgiving than mime.WordDecoder: adjacent words in the same
// charset are joined before charset conversion (clients split multi-byte
// characters across words), encoded words glued to text are accepted, and
// blanks inside Q words are tolerated. When a word names a charset that
// cannot be decoded, the whole value is returned as written, with the error.
func decodeWords(s string) (string, error) {
	if !strings.Contains(s, "=?") {
		return s, nil
	}
	var (
		out     strings.Builder
		gap     strings.Builder // blanks after an encoded word, dropped if another word follows
		cs      string          // charset of the pending run of words
		acc     []byte          // decoded bytes of the pending run
		inWords bool
		failed  error
	)
	flush := func() {
		if len(acc) > 0 {
			t, err := decodeCharset(cs, acc)
			if err != nil && failed == nil {
				failed = err
			}
			out.WriteString(t)
		}
		cs, acc = "", nil
	}
	for i := 0; i < len(s); {
		if s[i] == '=' && i+1 < len(s) && s[i+1] == '?' {
			if wcs, data, n, ok := parseEncodedWord(s[i:]); ok {
				gap.Reset()
				if !strings.EqualFold(wcs, cs) {
					flush()
				}
				cs = wcs
				acc = append(acc, data...)
				inWords = true
				i += n
				continue
			}
		}
		c := s[i]
		if inWords {
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				gap.WriteByte(c)
				i++
				continue
			}
			flush()
			out.WriteString(gap.String())
			gap.Reset()
			inWords = false
		}
		out.WriteByte(c)
		i++
	}
	flush()
	out.WriteString(gap.String())
	if failed != nil {
		return s, failed
	}
	return out.String(), nil
}

// Bounds for one encoded word, far above what the RFC allows.
const (
	maxCharsetName = 64
	maxWordText    = 4096
)

// parseEncodedWord reads "=?charset?B|Q?text?=" at the start of s and
// returns the charset, the decoded bytes and the length consumed.
func parseEncodedWord(s string) (cs string, data []byte, n int, ok bool) {
	q1 := strings.IndexByte(s[2:min(len(s), 2+maxCharsetName+1)], '?')
	if q1 <= 0 {
		return "", nil, 0, false
	}
	cs = s[2 : 2+q1]
	if strings.ContainsAny(cs, " \t=") {
		return "", nil, 0, false
	}
	if star := strings.IndexByte(cs, '*'); star >= 0 {
		cs = cs[:star] // RFC 2231 language suffix
	}
	rest := s[2+q1+1:]
	if len(rest) < 2 || rest[1] != '?' {
		return "", nil, 0, false
	}
	enc := rest[0]
	text := rest[2:]
	// Words are at most 75 characters (RFC 2047 2); the generous window keeps
	// a header full of unclosed "=?" from costing quadratic time.
	end := strings.Index(text[:min(len(text), maxWordText+2)], "?=")
	if end < 0 {
		return "", nil, 0, false
	}
	text = text[:end]
	switch enc {
	case 'B', 'b':
		data, _ = decodeBase64([]byte(text))
	case 'Q', 'q':
		data = decodeQWord(text)
	default:
		return "", nil, 0, false
	}
	return cs, data, 2 + q1 + 1 + 2 + end + 2, true
}

// decodeQWord decodes the Q encoding of RFC 2047 4.2.
func decodeQWord(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
