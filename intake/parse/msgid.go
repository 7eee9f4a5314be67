package parse

import (
	"strings"
)

// extractIDs returns the message ids in a Message-ID, In-Reply-To or
// References value, without angle brackets and without duplicates.
//
// Real values carry comments, quoted phrases ("Your message of ..."), ids
// without brackets and brackets without a closing ">". Everything between
// "<" and ">" is taken; when there are no brackets, blank-separated tokens
// that contain "@" are.
func extractIDs(s string) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = strings.Join(strings.Fields(id), "")
		id = strings.Trim(id, "<>\"',;")
		if id == "" || seen[id] || len(id) > 998 {
			return
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !strings.Contains(s, "<") {
		for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
			if strings.Contains(tok, "@") {
				add(tok)
			}
		}
		return ids
	}
	for rest := s; ; {
		lt := strings.IndexByte(rest, '<')
		if lt < 0 {
			break
		}
		rest = rest[lt+1:]
		gt := strings.IndexAny(rest, "<>")
		if gt < 0 {
			// Unclosed: take up to the next blank.
			end := strings.IndexAny(rest, " \t")
			if end < 0 {
				end = len(rest)
			}
			add(rest[:end])
			break
		}
		if rest[gt] == '<' {
			// "<a <b>": the first one never closed; keep it if it is an id.
			if tok := strings.TrimSpace(rest[:gt]); strings.Contains(tok, "@") && !strings.ContainsAny(tok, " \t") {
				add(tok)
			}
			rest = rest[gt:]
			continue
		}
		add(rest[:gt])
		rest = rest[gt+1:]
	}
	return ids
}

// messageID reads a Message-ID value: the first bracketed id, else the
// first token as written (some senders omit the brackets).
func messageID(s string) string {
	if ids := extractIDs(s); len(ids) > 0 {
		return ids[0]
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '('); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if f := strings.Fields(s); len(f) > 0 {
		return strings.Trim(f[0], "<>")
	}
	return ""
}
