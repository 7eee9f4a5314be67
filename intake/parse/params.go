package parse

import (
	"sort"
	"strconv"
	"strings"
)

// maxParams bounds the parameters kept from one header value.
const maxParams = 64

// parseMediaType reads a Content-Type or Content-Disposition value: the
// lower-cased main value and its parameters (lower-cased names).
//
// It accepts what mime.ParseMediaType rejects but mail carries anyway:
// missing semicolons between parameters, unterminated quotes, blanks in
// unquoted values, duplicate names. RFC 2231 continuations and charsets are
// joined and decoded; RFC 2047 words in values are left to the caller.
func parseMediaType(s string) (value string, params map[string]string) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] != ';' && s[i] != ' ' && s[i] != '\t' {
		i++
	}
	value = strings.ToLower(strings.TrimSpace(s[:i]))
	raw := map[string]string{}
	var order []string
	rest := s[i:]
	for {
		rest = strings.TrimLeft(rest, " \t;,")
		if rest == "" {
			break
		}
		eq := strings.IndexAny(rest, "=;")
		if eq < 0 || rest[eq] == ';' {
			// A token without "=": junk, skip it.
			if eq < 0 {
				break
			}
			rest = rest[eq:]
			continue
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		if sp := strings.LastIndexAny(name, " \t"); sp >= 0 {
			name = name[sp+1:] // "junk name=value": keep the last word
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var v string
		v, rest = paramValue(rest)
		if name == "" {
			continue
		}
		if _, dup := raw[name]; !dup && len(order) < maxParams {
			order = append(order, name)
			raw[name] = v
		}
	}
	return value, joinRFC2231(raw, order)
}

// paramValue reads one parameter value (quoted or not) and returns it with
// the unread rest.
func paramValue(s string) (v, rest string) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String(), s[i+1:]
			default:
				b.WriteByte(c)
			}
		}
		return b.String(), "" // unterminated quote: take the rest
	}
	// Unquoted: up to ";", or up to a blank followed by "name=" (parameters
	// written without semicolons). Blanks inside a value are kept.
	i := 0
	for i < len(s) && s[i] != ';' {
		if s[i] == ' ' || s[i] == '\t' {
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			k := j
			for k < len(s) && s[k] != '=' && s[k] != ';' && s[k] != ' ' && s[k] != '\t' {
				k++
			}
			if k < len(s) && s[k] == '=' && isToken(s[j:k]) {
				return strings.TrimSpace(s[:i]), s[i:]
			}
			i = j
			continue
		}
		i++
	}
	return strings.TrimSpace(s[:i]), s[i:]
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 127 || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// rfc2231Segment is one piece of a parameter split per RFC 2231.
type rfc2231Segment struct {
	index    int
	extended bool
	value    string
}

// joinRFC2231 assembles name*0*, name*1, name* ... pieces into name, with
// percent-decoding and charset conversion. An RFC 2231 value wins over a
// plain one of the same name (clients send both for old readers).
func joinRFC2231(raw map[string]string, order []string) map[string]string {
	params := make(map[string]string, len(raw))
	segs := map[string][]rfc2231Segment{}
	for _, k := range order {
		v := raw[k]
		star := strings.IndexByte(k, '*')
		if star < 0 {
			params[k] = v
			continue
		}
		base, suffix := k[:star], k[star+1:]
		seg := rfc2231Segment{index: -1, value: v}
		if strings.HasSuffix(suffix, "*") {
			seg.extended = true
			suffix = strings.TrimSuffix(suffix, "*")
		} else if suffix == "" {
			seg.extended = true // "name*" itself
		}
		if suffix != "" {
			n, err := strconv.Atoi(suffix)
			if err != nil || n < 0 || n > 999 {
				continue
			}
			seg.index = n
		}
		segs[base] = append(segs[base], seg)
	}
	for base, list := range segs {
		sort.SliceStable(list, func(i, j int) bool { return list[i].index < list[j].index })
		var buf []byte
		cs := ""
		for i, seg := range list {
			if !seg.extended {
				buf = append(buf, seg.value...)
				continue
			}
			v := seg.value
			if i == 0 {
				// charset'language'value
				if a := strings.IndexByte(v, '\''); a >= 0 {
					if b := strings.IndexByte(v[a+1:], '\''); b >= 0 {
						cs, v = v[:a], v[a+1+b+1:]
					}
				}
			}
			buf = append(buf, percentDecode(v)...)
		}
		text, err := decodeCharset(cs, buf)
		if err != nil && cs != "" {
			text = bestEffortUTF8(buf)
		}
		params[base] = text
	}
	return params
}

// percentDecode decodes %XX escapes, keeping a malformed "%" as is.
func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}
