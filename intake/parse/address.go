package parse

import (
	"strings"

	"github.com/emersion/go-message/mail"
)

// parseAddressList reads an address header. The strict RFC 5322 parser of
// go-message (charset-aware for encoded names) is tried first; mail that
// fails it — unquoted specials, missing brackets, bare local parts — goes
// through a lenient reader that keeps whatever looks like an address.
func parseAddressList(s string) []Address {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if list, err := mail.ParseAddressList(s); err == nil && len(list) > 0 {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			name := strings.TrimSpace(a.Name)
			if strings.Contains(name, "=?") {
				// Encoded words inside a quoted name: RFC 2047 forbids
				// them, but scripts write them and mean them.
				if d, err := decodeWords(name); err == nil {
					name = strings.TrimSpace(d)
				}
			}
			out = append(out, Address{Name: name, Address: a.Address})
		}
		return out
	}
	return lenientAddressList(s)
}

// lenientAddressList splits on top-level commas and reads each item with
// lenientAddress, skipping group names ("Team: a@x, b@y;").
func lenientAddressList(s string) []Address {
	var out []Address
	for _, item := range splitTopLevel(s, ',') {
		item = strings.TrimSpace(item)
		if colon := topLevelIndex(item, ':'); colon >= 0 && !strings.Contains(item[:colon], "@") {
			item = strings.TrimSpace(item[colon+1:]) // group display name
		}
		item = strings.TrimSpace(strings.TrimRight(item, "; "))
		if a, ok := lenientAddress(item); ok {
			out = append(out, a)
		}
	}
	return out
}

// lenientAddress reads "Name <addr>", "addr (Name)" or a bare address.
// Comments anywhere ("pete(his account)@silly.test(his host)") are taken
// out, and the obsolete white space around the dots and the "@" of an
// address ("jdoe@test  . example", RFC 5322 4.4) closed up.
func lenientAddress(s string) (Address, bool) {
	if s == "" {
		return Address{}, false
	}
	s, comment := addressComments(s)
	if lt := topLevelIndex(s, '<'); lt >= 0 {
		inner := s[lt+1:]
		if gt := strings.IndexByte(inner, '>'); gt >= 0 {
			inner = inner[:gt]
		}
		addr := squeezeAddrSpec(inner)
		if c := strings.LastIndexByte(addr, ':'); c >= 0 && strings.HasPrefix(addr, "@") {
			addr = addr[c+1:] // obsolete source route "@a,@b:user@host"
		}
		name := cleanName(s[:lt])
		if name == "" {
			name = cleanName(comment)
		}
		if addr == "" && name == "" {
			return Address{}, false
		}
		return Address{Name: name, Address: addr}, true
	}
	if addr := squeezeAddrSpec(s); strings.Count(addr, "@") == 1 && !strings.ContainsAny(addr, " \t\"") {
		return Address{Name: cleanName(comment), Address: addr}, true
	}
	fields := strings.Fields(s)
	addr := ""
	var rest []string
	for _, f := range fields {
		if addr == "" && strings.Contains(f, "@") {
			addr = f
			continue
		}
		rest = append(rest, f)
	}
	if addr == "" && len(fields) == 1 {
		addr, rest = fields[0], nil
	}
	name := cleanName(strings.Join(rest, " "))
	if name == "" {
		name = cleanName(comment)
	}
	if addr == "" && name == "" {
		return Address{}, false
	}
	return Address{Name: name, Address: strings.Trim(addr, `"'`)}, true
}

// cleanName unquotes a display name and decodes its encoded words.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
		s = strings.ReplaceAll(s, `\\`, `\`)
	} else {
		s = strings.Trim(s, `"`)
	}
	if d, err := decodeWords(s); err == nil {
		s = d
	}
	return strings.TrimSpace(s)
}

// addressComments replaces the comments of s, outside quoted strings, with
// a blank (they count as white space) and returns the text of the comment
// when there is just one, which old mail uses for the name ("addr
// (Name)"); several comments annotate the parts of the address.
func addressComments(s string) (rest, name string) {
	rest, last, n := scanComments(s)
	if n != 1 {
		last = ""
	}
	return rest, last
}

// scanComments does the work of addressComments: it returns s without its
// comments, the text of the last, and how many there were.
func scanComments(s string) (rest, last string, n int) {
	if strings.IndexByte(s, '(') < 0 {
		return s, "", 0
	}
	var b, c strings.Builder
	quoted, depth := false, 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case depth > 0:
			switch {
			case ch == '\\' && i+1 < len(s):
				i++
				c.WriteByte(s[i])
				continue
			case ch == '(':
				depth++
			case ch == ')':
				depth--
				if depth == 0 {
					n++
					if t := strings.TrimSpace(c.String()); t != "" {
						last = t
					}
					b.WriteByte(' ')
					continue
				}
			}
			c.WriteByte(ch)
		case ch == '\\' && quoted && i+1 < len(s):
			b.WriteByte(ch)
			i++
			b.WriteByte(s[i])
		case ch == '"':
			quoted = !quoted
			b.WriteByte(ch)
		case ch == '(' && !quoted:
			depth = 1
			c.Reset()
		default:
			b.WriteByte(ch)
		}
	}
	return b.String(), last, n
}

// squeezeAddrSpec trims an address and closes up the white space around
// its dots and its "@", outside quoted local parts.
func squeezeAddrSpec(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, " \t") {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '"' {
			quoted = !quoted
		}
		if !quoted && (ch == ' ' || ch == '\t') {
			j := i
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			prev := byte(0)
			if b.Len() > 0 {
				prev = b.String()[b.Len()-1]
			}
			if j < len(s) && (s[j] == '.' || s[j] == '@') || prev == '.' || prev == '@' {
				i = j - 1
				continue
			}
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// splitTopLevel splits s on sep outside quotes, <>, and comments.
func splitTopLevel(s string, sep byte) []string {
	var parts []string
	start := 0
	quoted, angle, paren := false, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || paren > 0):
			i++
		case c == '"' && paren == 0:
			quoted = !quoted
		case quoted:
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case c == sep && angle == 0 && paren == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// topLevelIndex is strings.IndexByte outside quotes and comments.
func topLevelIndex(s string, want byte) int {
	quoted, paren := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || paren > 0):
			i++
		case c == '"' && paren == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case c == want && paren == 0:
			return i
		}
	}
	return -1
}
