package parse

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// jsonKeys returns the sorted keys of a JSON object.
func jsonKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestInspectJSONKeys(t *testing.T) {
	base := []string{"attachments", "cc", "class", "date", "from", "html", "in_reply_to", "message_id",
		"problems", "references", "reply_text", "reply_to", "subject", "text", "to"}

	m, _ := parseFile(t, "inline-cid-image.eml")
	out, err := json.Marshal(m.Inspect())
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonKeys(t, out); !slices.Equal(got, base) {
		t.Errorf("keys %v, want %v", got, base)
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(out, &top)
	var atts []json.RawMessage
	_ = json.Unmarshal(top["attachments"], &atts)
	if len(atts) != 1 {
		t.Fatalf("attachments %s", top["attachments"])
	}
	wantAtt := []string{"content_id", "content_type", "filename", "inline", "sha256", "size"}
	if got := jsonKeys(t, atts[0]); !slices.Equal(got, wantAtt) {
		t.Errorf("attachment keys %v, want %v", got, wantAtt)
	}
	for _, k := range []string{"cc", "in_reply_to", "references", "problems"} {
		if string(top[k]) != "[]" {
			t.Errorf("%s = %s, want []", k, top[k])
		}
	}
	if string(top["date"]) != `"2025-01-06T10:15:00+01:00"` {
		t.Errorf("date = %s", top["date"])
	}

	b, _ := parseFile(t, "dsn-bounce.eml")
	out, _ = json.Marshal(b.Inspect())
	withBounce := append(slices.Clone(base), "bounce")
	slices.Sort(withBounce)
	if got := jsonKeys(t, out); !slices.Equal(got, withBounce) {
		t.Errorf("bounce mail keys %v, want %v", got, withBounce)
	}
	_ = json.Unmarshal(out, &top)
	if got := jsonKeys(t, top["bounce"]); !slices.Equal(got, []string{"action", "diagnostic", "original_message_id", "recipient", "status"}) {
		t.Errorf("bounce keys %v", got)
	}
}

func TestWriteText(t *testing.T) {
	m, _ := parseFile(t, "dsn-bounce.eml")
	var sb strings.Builder
	if err := m.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		"from: \"Mail Delivery System\" <MAILER-DAEMON@mx.example.net>\n",
		"subject: Undelivered Mail Returned to Sender\n",
		"message_id: dsn@mx.example.net\n",
		"class: bounce\n",
		"bounce: recipient=gone@example.org status=5.1.1 original_message_id=ticket-42.1@help.example.net action=failed\n",
		"bounce_diagnostic: 550 5.1.1 User unknown\n",
		"attachments: 2\n",
		"text:\n    I'm sorry to have to inform you that your message could not be delivered.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// A header value with a line break must not forge a line of its own.
	m.Subject = "hello\nclass: normal"
	sb.Reset()
	_ = m.WriteText(&sb)
	if strings.Contains(sb.String(), "\nclass: normal\n") {
		t.Errorf("line break in subject forged a line:\n%s", sb.String())
	}
}
