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
			out = append(out, Address{Name: strings.TrimSpace(a.Name), Address: a.Address})
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
func lenientAddress(s string) (Address, bool) {
	if s == "" {
		return Address{}, false
	}
	if lt := topLevelIndex(s, '<'); lt >= 0 {
		inner := s[lt+1:]
		tail := ""
		if gt := strings.IndexByte(inner, '>'); gt >= 0 {
			inner, tail = inner[:gt], inner[gt+1:]
		}
		addr := strings.TrimSpace(inner)
		if c := strings.LastIndexByte(addr, ':'); c >= 0 && strings.HasPrefix(addr, "@") {
			addr = addr[c+1:] // obsolete source route "@a,@b:user@host"
		}
		name := cleanName(s[:lt])
		if name == "" {
			name = cleanName(stripParens(tail))
		}
		if addr == "" && name == "" {
			return Address{}, false
		}
		return Address{Name: name, Address: addr}, true
	}
	comment := ""
	if i := strings.IndexByte(s, '('); i >= 0 {
		comment = s[i:]
		s = s[:i]
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
		name = cleanName(stripParens(comment))
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

// stripParens returns the text of a "(comment)".
func stripParens(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "(")
	return strings.TrimSuffix(s, ")")
}

// splitTopLevel splits s on sep outside quotes, <>, and comments.
func splitTopLevel(s string, sep byte) []string {
	var parts []string
	start := 0
	quoted, angle, paren := false, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
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
		case c == '\\' && quoted:
			i++
		case c == '"':
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
