package parse

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// maxDecodedText bounds how much text one charset conversion may produce, so
// a hostile part cannot blow up memory through a multiplying decoder.
const maxDecodedText = 64 << 20

// decodeCharset converts b from the named charset to UTF-8. For an unknown
// charset it returns a best-effort reading (UTF-8 if valid, else
// Windows-1252) together with an error the caller reports as a problem.
func decodeCharset(name string, b []byte) (string, error) {
	n := strings.ToLower(strings.Trim(strings.TrimSpace(name), `"'`))
	switch {
	case isUTF8Name(n):
		return declaredUTF8(b), nil
	case n == "" || isASCIIName(n):
		return bestEffortUTF8(b), nil
	case isLatin1Name(n):
		// Mail labelled Latin-1 is written by Windows clients in practice:
		// 0x80-0x9F are Windows-1252 quotes and dashes, not C1 controls.
		return windows1252(string(b)), nil
	case n == "utf-7" || n == "unicode-1-1-utf-7" || n == "x-unicode-2-0-utf-7":
		return decodeUTF7(b), nil
	}
	r, err := charset.Reader(n, bytes.NewReader(b))
	if err != nil {
		return bestEffortUTF8(b), fmt.Errorf("unknown charset %q", name)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxDecodedText))
	if err != nil {
		return bestEffortUTF8(b), fmt.Errorf("charset %q: %w", name, err)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), nil
}

// isUTF8Name reports whether a charset label means UTF-8.
func isUTF8Name(n string) bool {
	switch strings.ToLower(n) {
	case "utf-8", "utf8", "x-utf_8j", "unicode-1-1-utf-8", "unicode-2-0-utf-8":
		return true
	}
	return false
}

func isASCIIName(n string) bool {
	switch strings.ToLower(n) {
	case "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us":
		return true
	}
	return false
}

func isLatin1Name(n string) bool {
	switch n {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "iso_8859-1:1987", "latin1", "latin-1", "l1",
		"cp819", "ibm819", "windows-1252", "cp1252", "x-cp1252", "cp-1252", "win-1252":
		return true
	}
	return false
}

// bestEffortUTF8 reads bytes of unknown charset: UTF-8 when they are valid
// UTF-8, else the 8-bit charset guess8bit settles on.
func bestEffortUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	s, _ := guess8bit(b)
	return s
}

// guess8bit decodes undeclared 8-bit text. Western text puts its few 8-bit
// letters inside words of ASCII letters ("Frösche"); Cyrillic text makes
// whole words of 8-bit letters. For the latter, KOI8-R and Windows-1251 are
// told apart by case: running text is mostly lower case, which is
// 0xC0-0xDF in KOI8-R and 0xE0-0xFF in Windows-1251. Everything else is
// read as Windows-1252, which maps every byte to some character.
func guess8bit(b []byte) (string, string) {
	var words, mixed, low, high int
	run := 0
	for i := 0; i <= len(b); i++ {
		c := byte(' ')
		if i < len(b) {
			c = b[i]
		}
		if c >= 0xC0 {
			run++
			if c < 0xE0 {
				low++
			} else {
				high++
			}
			if (i > 0 && isASCIILetter(b[i-1])) || (i+1 < len(b) && isASCIILetter(b[i+1])) {
				mixed++
			}
			continue
		}
		if run >= 3 {
			words++
		}
		run = 0
	}
	if words > 0 && mixed*4 <= words {
		enc, name := charmap.Windows1251, "Windows-1251"
		if low >= high {
			enc, name = charmap.KOI8R, "KOI8-R"
		}
		if s, err := enc.NewDecoder().String(string(b)); err == nil {
			return s, name
		}
	}
	return windows1252(string(b)), "Windows-1252"
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// declaredUTF8 reads text labelled UTF-8. A few bad bytes in real UTF-8
// become U+FFFD; text without a single valid multi-byte sequence is really
// Latin-1 under the wrong label and is read as Windows-1252.
func declaredUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && size > 1 {
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}
		i += size
	}
	return windows1252(string(b))
}

// windows1252 decodes s as Windows-1252 (a superset of ISO-8859-1 for
// printable text). The five unassigned bytes map to U+FFFD.
func windows1252(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + len(s)/4)
	dec := charmap.Windows1252
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
			continue
		}
		sb.WriteRune(dec.DecodeByte(c))
	}
	return sb.String()
}

// decodeUTF7 decodes RFC 2152 UTF-7, which x/text does not provide but old
// clients still emit. Malformed shifts are kept as written.
func decodeUTF7(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '+' {
			sb.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(b) && base64Value(b[j]) >= 0 {
			j++
		}
		if j == i+1 {
			// "+-" is a literal plus; a lone "+" is kept.
			sb.WriteByte('+')
			if j < len(b) && b[j] == '-' {
				i = j
			}
			continue
		}
		var units []uint16
		var acc uint32
		bits := 0
		for _, d := range b[i+1 : j] {
			acc = acc<<6 | uint32(base64Value(d))
			bits += 6
			if bits >= 16 {
				bits -= 16
				units = append(units, uint16(acc>>uint(bits)))
				acc &= 1<<uint(bits) - 1
			}
		}
		sb.WriteString(string(utf16.Decode(units)))
		if j < len(b) && b[j] == '-' {
			j++
		}
		i = j - 1
	}
	return strings.ToValidUTF8(sb.String(), "\uFFFD")
}

// base64Value returns the 6-bit value of a base64 digit, or -1.
func base64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}
