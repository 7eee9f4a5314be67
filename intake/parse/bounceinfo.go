package parse

import (
	"regexp"
	"strings"
)

// headerMessageID reads Message-ID from the header block at the start of
// data (a returned message or its headers).
func headerMessageID(data []byte) string {
	fields, _, _ := splitHeader(normalizeNewlines(data))
	for _, f := range fields {
		if strings.EqualFold(f.name, "Message-ID") {
			return messageID(bestEffortUTF8([]byte(unfold(f.value))))
		}
	}
	return ""
}

var messageIDLine = regexp.MustCompile(`(?m)^[>\s]*message-id:\s*(<[^>\s]+>|\S+@\S+)`)

// lastMessageIDLine returns the last Message-ID line in text: in a returned
// message pasted into the body, the original's header comes last.
func lastMessageIDLine(text string) string {
	all := messageIDLine.FindAllStringSubmatchIndex(asciiLower(text), -1)
	if len(all) == 0 {
		return ""
	}
	last := all[len(all)-1]
	return messageID(text[last[2]:last[3]])
}

var emailInText = regexp.MustCompile(`[A-Za-z0-9._%+\-=]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// failedAddress picks the first address in the failure notice that is not
// one of the report's own correspondents or a daemon mailbox.
func failedAddress(m *Message, failure string) string {
	skip := map[string]bool{strings.ToLower(m.From.Address): true}
	for _, a := range m.To {
		skip[strings.ToLower(a.Address)] = true
	}
	for _, a := range emailInText.FindAllString(failure, 50) {
		local := a[:strings.IndexByte(a, '@')]
		if skip[strings.ToLower(a)] || daemonLocal.MatchString(local) {
			continue
		}
		return a
	}
	return ""
}

var (
	enhancedStatus = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
	smtpReplyLine  = regexp.MustCompile(`(?m)^.*\b[245]\d\d[ -].*$`)
)

// fillStatusFromText fills Status, Action and Diagnostic from the wording of
// a non-standard notice.
func fillStatusFromText(info *BounceInfo, failure string) {
	if info.Status == "" {
		if s := enhancedStatus.FindString(failure); s != "" {
			info.Status = s
		}
	}
	if info.Diagnostic == "" {
		if l := smtpReplyLine.FindString(failure); l != "" {
			info.Diagnostic = truncate(strings.TrimSpace(strings.TrimLeft(l, "> ")), 300)
		}
	}
	// Only a permanent code says what the notice means: a 4xx or 2xx in a
	// notice's prose is as often a line of the transcript of a delivery
	// that failed in the end, and the Action of a machine-readable report
	// (a DSN, an SES notification) is what tells a delay or a delivery.
	if info.Action == "" && strings.HasPrefix(info.Status, "5") {
		info.Action = "failed"
	}
}

// dsnLines keeps the DSN-looking "Field: value" lines of a text body
// (forwarded or plain-text reports), unquoted, one block per recipient.
func dsnLines(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimLeft(l, "> \t")
		if l == "" {
			b.WriteString("\n")
			continue
		}
		if name, _, ok := strings.Cut(l, ":"); ok && isDSNField(strings.TrimSpace(name)) {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func isDSNField(name string) bool {
	switch strings.ToLower(name) {
	case "final-recipient", "original-recipient", "action", "status", "diagnostic-code", "reporting-mta", "remote-mta":
		return true
	}
	return false
}

// fillFromDSN reads a message/delivery-status body (RFC 3464 2.1): a
// per-message block then one block per recipient. The first failed
// recipient is reported, else the first recipient.
func fillFromDSN(info *BounceInfo, body []byte) {
	data := normalizeNewlines(body)
	var chosen []rawField
	for pos, n := 0, 0; pos < len(data) && n < 1000; n++ {
		fields, at, _ := splitHeader(data[pos:])
		if at == 0 {
			_, next := nextLine(data, pos)
			pos = next
			continue
		}
		pos += at
		if !hasField(fields, "Final-Recipient") && !hasField(fields, "Original-Recipient") && !hasField(fields, "Action") {
			continue
		}
		if chosen == nil {
			chosen = fields
		}
		if strings.EqualFold(strings.TrimSpace(fieldValue(fields, "Action")), "failed") && !strings.EqualFold(fieldValue(chosen, "Action"), "failed") {
			chosen = fields
		}
	}
	if chosen == nil {
		return
	}
	if info.Recipient == "" {
		rcpt := typedValue(fieldValue(chosen, "Final-Recipient"))
		if rcpt == "" {
			rcpt = typedValue(fieldValue(chosen, "Original-Recipient"))
		}
		info.Recipient = strings.Trim(rcpt, "<> ")
	}
	if info.Status == "" {
		if f := strings.Fields(fieldValue(chosen, "Status")); len(f) > 0 {
			info.Status = f[0]
		}
	}
	if info.Action == "" {
		info.Action = strings.ToLower(strings.TrimSpace(fieldValue(chosen, "Action")))
	}
	if info.Diagnostic == "" {
		info.Diagnostic = truncate(typedValue(fieldValue(chosen, "Diagnostic-Code")), 300)
	}
}

// typedValue strips the "rfc822;" / "smtp;" type of a DSN field.
func typedValue(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(after)
	}
	return strings.TrimSpace(v)
}

func hasField(fields []rawField, name string) bool {
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

func fieldValue(fields []rawField, name string) string {
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return bestEffortUTF8([]byte(unfold(f.value)))
		}
	}
	return ""
}
