package parse

import (
	"encoding/json"
	"strings"
)

// sesNote is the part of an Amazon SES notification that matters here. SES
// writes "notificationType" in its feedback notifications and "eventType"
// in the events a configuration set publishes; the fields are the same.
type sesNote struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           *struct {
		BounceType        string `json:"bounceType"`
		BouncedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Action         string `json:"action"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Delivery *struct {
		Recipients   []string `json:"recipients"`
		SMTPResponse string   `json:"smtpResponse"`
	} `json:"delivery"`
	DeliveryDelay *struct {
		DelayedRecipients []struct {
			EmailAddress   string `json:"emailAddress"`
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"delayedRecipients"`
	} `json:"deliveryDelay"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
	Mail struct {
		Destination   []string `json:"destination"`
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
	} `json:"mail"`

	// The envelope of Amazon SNS's "email-json" delivery: the SES
	// notification is the JSON text in Message.
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

// sesNotification reads an Amazon SES bounce, complaint, delivery, delay
// or reject notification, as SNS mails it: the notification itself as the
// body ("email"), or inside SNS's JSON envelope ("email-json"). These
// report on mail we sent, so they are handled like delivery reports and
// never as a customer's words.
func sesNotification(text string) *BounceInfo {
	i := strings.IndexByte(text, '{')
	if i < 0 || !strings.Contains(text, "notificationType") && !strings.Contains(text, "eventType") {
		return nil
	}
	n, ok := decodeSESNote(text[i:])
	if !ok {
		return nil
	}
	if n.Type == "Notification" && n.Message != "" && n.NotificationType == "" && n.EventType == "" {
		if n, ok = decodeSESNote(n.Message); !ok {
			return nil
		}
	}
	kind := n.NotificationType
	if kind == "" {
		kind = n.EventType
	}
	info := &BounceInfo{Action: strings.ToLower(kind)}
	if len(n.Mail.Destination) > 0 {
		info.Recipient = n.Mail.Destination[0]
	}
	switch kind {
	case "Bounce":
		info.Action = "failed"
		if n.Bounce != nil && len(n.Bounce.BouncedRecipients) > 0 {
			r := n.Bounce.BouncedRecipients[0]
			info.Recipient, info.Status, info.Diagnostic = r.EmailAddress, r.Status, r.DiagnosticCode
			if r.Action != "" {
				info.Action = r.Action
			}
		}
	case "Complaint":
		if n.Complaint != nil && len(n.Complaint.ComplainedRecipients) > 0 {
			info.Recipient = n.Complaint.ComplainedRecipients[0].EmailAddress
		}
	case "Delivery":
		info.Action = "delivered"
		if n.Delivery != nil {
			if len(n.Delivery.Recipients) > 0 {
				info.Recipient = n.Delivery.Recipients[0]
			}
			info.Diagnostic = n.Delivery.SMTPResponse
		}
	case "DeliveryDelay":
		info.Action = "delayed"
		if n.DeliveryDelay != nil && len(n.DeliveryDelay.DelayedRecipients) > 0 {
			r := n.DeliveryDelay.DelayedRecipients[0]
			info.Recipient, info.Status, info.Diagnostic = r.EmailAddress, r.Status, r.DiagnosticCode
		}
	case "Reject":
		info.Action = "failed"
		if n.Reject != nil {
			info.Diagnostic = n.Reject.Reason
		}
	default:
		return nil
	}
	info.Diagnostic = truncate(info.Diagnostic, 300)
	info.OriginalMessageID = messageID(n.Mail.CommonHeaders.MessageID)
	for _, h := range n.Mail.Headers {
		if info.OriginalMessageID == "" && strings.EqualFold(h.Name, "Message-ID") {
			info.OriginalMessageID = messageID(h.Value)
		}
	}
	return info
}

// decodeSESNote decodes the JSON value at the start of s.
func decodeSESNote(s string) (sesNote, bool) {
	var n sesNote
	if err := json.NewDecoder(strings.NewReader(s)).Decode(&n); err == nil {
		return n, true
	}
	// Long JSON lines get folded in transit, leaving raw line breaks
	// inside strings; without them the JSON is whole again.
	n = sesNote{}
	flat := strings.NewReplacer("\r", "", "\n", "").Replace(s)
	if err := json.NewDecoder(strings.NewReader(flat)).Decode(&n); err != nil {
		return sesNote{}, false
	}
	return n, true
}
