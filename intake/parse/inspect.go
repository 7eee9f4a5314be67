package parse

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// Inspect is the view of a Message printed by `postdesk inspect --json`.
// Its keys are fixed; empty lists are [] rather than null.
type Inspect struct {
	From        Address             `json:"from"`
	To          []Address           `json:"to"`
	Cc          []Address           `json:"cc"`
	ReplyTo     []Address           `json:"reply_to"`
	Subject     string              `json:"subject"`
	Date        string              `json:"date"` // RFC 3339, "" when unknown
	MessageID   string              `json:"message_id"`
	InReplyTo   []string            `json:"in_reply_to"`
	References  []string            `json:"references"`
	Text        string              `json:"text"`
	ReplyText   string              `json:"reply_text"`
	HTML        string              `json:"html"`
	Attachments []InspectAttachment `json:"attachments"`
	Class       Class               `json:"class"`
	Bounce      *InspectBounce      `json:"bounce,omitempty"`
	Problems    []string            `json:"problems"`
}

// InspectAttachment is an attachment without its content.
type InspectAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
	Inline      bool   `json:"inline"`
	ContentID   string `json:"content_id"`
}

// InspectBounce is the delivery-report summary: everything the parser
// found in it.
type InspectBounce struct {
	OriginalMessageID string `json:"original_message_id"`
	Recipient         string `json:"recipient"`
	Status            string `json:"status"`
	Action            string `json:"action"`
	Diagnostic        string `json:"diagnostic"`
}

// Inspect returns the inspection view of m.
func (m *Message) Inspect() Inspect {
	v := Inspect{
		From:        m.From,
		To:          nonNil(m.To),
		Cc:          nonNil(m.Cc),
		ReplyTo:     nonNil(m.ReplyTo),
		Subject:     m.Subject,
		MessageID:   m.MessageID,
		InReplyTo:   nonNil(m.InReplyTo),
		References:  nonNil(m.References),
		Text:        m.Text,
		ReplyText:   m.ReplyText,
		HTML:        m.HTML,
		Attachments: []InspectAttachment{},
		Class:       m.Class,
		Problems:    nonNil(m.Problems),
	}
	if !m.Date.IsZero() {
		v.Date = m.Date.Format(time.RFC3339)
	}
	for _, a := range m.Attachments {
		v.Attachments = append(v.Attachments, InspectAttachment{
			Filename: a.Filename, ContentType: a.ContentType, Size: a.Size,
			SHA256: a.SHA256, Inline: a.Inline, ContentID: a.ContentID,
		})
	}
	if m.Bounce != nil {
		v.Bounce = &InspectBounce{
			OriginalMessageID: m.Bounce.OriginalMessageID,
			Recipient:         m.Bounce.Recipient,
			Status:            m.Bounce.Status,
			Action:            m.Bounce.Action,
			Diagnostic:        m.Bounce.Diagnostic,
		}
	}
	return v
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WriteText writes m for a person to read: one "key: value" line per field,
// bodies indented under their key.
func (m *Message) WriteText(w io.Writer) error {
	v := m.Inspect()
	bw := bufio.NewWriter(w)
	line := func(k, val string) { fmt.Fprintf(bw, "%s: %s\n", k, oneLine(val)) }
	line("from", formatAddress(v.From))
	line("to", formatAddresses(v.To))
	line("cc", formatAddresses(v.Cc))
	line("reply_to", formatAddresses(v.ReplyTo))
	line("subject", v.Subject)
	line("date", v.Date)
	line("message_id", v.MessageID)
	line("in_reply_to", strings.Join(v.InReplyTo, " "))
	line("references", strings.Join(v.References, " "))
	line("class", string(v.Class))
	if b := v.Bounce; b != nil {
		line("bounce", fmt.Sprintf("recipient=%s status=%s original_message_id=%s action=%s", b.Recipient, b.Status,
			b.OriginalMessageID, b.Action))
		line("bounce_diagnostic", b.Diagnostic)
	}
	fmt.Fprintf(bw, "attachments: %d\n", len(v.Attachments))
	for _, a := range v.Attachments {
		fmt.Fprintf(bw, "    %s (%s, %d bytes, sha256 %s", oneLine(a.Filename), a.ContentType, a.Size, a.SHA256)
		if a.Inline {
			fmt.Fprint(bw, ", inline")
		}
		if a.ContentID != "" {
			fmt.Fprintf(bw, ", cid %s", oneLine(a.ContentID))
		}
		fmt.Fprint(bw, ")\n")
	}
	fmt.Fprintf(bw, "problems: %d\n", len(v.Problems))
	for _, p := range v.Problems {
		fmt.Fprintf(bw, "    %s\n", oneLine(p))
	}
	block(bw, "reply_text", v.ReplyText)
	block(bw, "text", v.Text)
	block(bw, "html", v.HTML)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("parse: write inspection: %w", err)
	}
	return nil
}

// block writes a multi-line value indented under its key.
func block(w io.Writer, key, body string) {
	fmt.Fprintf(w, "%s:\n", key)
	body = strings.TrimRight(body, "\n")
	if body == "" {
		return
	}
	for _, l := range strings.Split(body, "\n") {
		fmt.Fprintf(w, "    %s\n", strings.TrimRight(l, "\r"))
	}
}

// oneLine keeps a value on its line: line breaks in a header value could
// otherwise forge extra "key: value" lines.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

func formatAddress(a Address) string {
	switch {
	case a.Name == "":
		return a.Address
	case a.Address == "":
		return a.Name
	}
	return fmt.Sprintf("%q <%s>", a.Name, a.Address)
}

func formatAddresses(list []Address) string {
	parts := make([]string, 0, len(list))
	for _, a := range list {
		parts = append(parts, formatAddress(a))
	}
	return strings.Join(parts, ", ")
}
