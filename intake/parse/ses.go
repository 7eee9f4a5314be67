package parse

import (
	"encoding/json"
	"strings"
)

// sesNote is the part of an Amazon SES notification (delivered by SNS as a
// JSON mail body) that matters here.
type sesNote struct {
	NotificationType string `json:"notificationType"`
	Bounce           *struct {
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
	Mail struct {
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
	} `json:"mail"`
}

// sesNotification reads an Amazon SES bounce, complaint or delivery
// notification. These report on mail we sent, so they are handled like
// delivery reports and never as a customer's words.
func sesNotification(text string) *BounceInfo {
	i := strings.IndexByte(text, '{')
	if i < 0 || !strings.Contains(text, `"notificationType"`) {
		return nil
	}
	var n sesNote
	if err := json.NewDecoder(strings.NewReader(text[i:])).Decode(&n); err != nil {
		// Long JSON lines get folded in transit, leaving raw line breaks
		// inside strings; without them the JSON is whole again.
		n = sesNote{}
		flat := strings.NewReplacer("\r", "", "\n", "").Replace(text[i:])
		if err := json.NewDecoder(strings.NewReader(flat)).Decode(&n); err != nil {
			return nil
		}
	}
	info := &BounceInfo{Action: strings.ToLower(n.NotificationType)}
	switch n.NotificationType {
	case "Bounce":
		if n.Bounce != nil && len(n.Bounce.BouncedRecipients) > 0 {
			r := n.Bounce.BouncedRecipients[0]
			info.Recipient, info.Action, info.Status, info.Diagnostic = r.EmailAddress, r.Action, r.Status, r.DiagnosticCode
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
	default:
		return nil
	}
	info.OriginalMessageID = messageID(n.Mail.CommonHeaders.MessageID)
	for _, h := range n.Mail.Headers {
		if info.OriginalMessageID == "" && strings.EqualFold(h.Name, "Message-ID") {
			info.OriginalMessageID = messageID(h.Value)
		}
	}
	return info
}
