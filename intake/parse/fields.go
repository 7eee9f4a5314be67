package parse

import (
	"strings"
)

// fillHeaderFields lifts the top-level header fields into m.
func (p *parser) fillHeaderFields(m *Message, raw []byte) {
	h := m.Header
	if from := p.addresses(h, "From"); len(from) > 0 {
		m.From = from[0]
	}
	m.ReplyTo = p.addresses(h, "Reply-To")
	m.To = p.addresses(h, "To")
	m.Cc = p.addresses(h, "Cc")
	if s := p.addresses(h, "Sender"); len(s) > 0 {
		m.Sender = s[0].Address
	}
	m.ReturnPath = strings.Trim(strings.TrimSpace(h.Get("Return-Path")), "<> ")

	subject, err := decodeWords(h.Get("Subject"))
	if err != nil {
		p.problem("subject: %v; kept as written", err)
	}
	m.Subject = subject

	if v := h.Get("Date"); v != "" {
		if t, ok := parseDate(v); ok {
			m.Date = t
		} else {
			p.problem("unreadable Date %q", truncate(v, 60))
		}
	}

	m.MessageID = messageID(h.Get("Message-ID"))
	if m.MessageID == "" {
		m.MessageID = p.synthetic
		if !p.owned {
			m.MessageID = syntheticID(raw)
		}
		m.SyntheticID = true
	}
	m.InReplyTo = idList(h.Values("In-Reply-To"))
	m.References = idList(h.Values("References"))

	m.AutoSubmitted = h.Get("Auto-Submitted")
	m.Precedence = h.Get("Precedence")
	m.ListID = h.Text("List-Id")
	m.ListUnsubscribe = h.Get("List-Unsubscribe")
}

// addresses reads every field called name (some mailers repeat To or Cc).
func (p *parser) addresses(h Header, name string) []Address {
	var out []Address
	for _, v := range h.Values(name) {
		out = append(out, parseAddressList(v)...)
	}
	return out
}

// idList extracts message ids from every value, without duplicates.
func idList(values []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, id := range extractIDs(v) {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
