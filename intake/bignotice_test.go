package intake_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// TestNoticesOfABigMailStaySmall: a 24 MiB mail used to make notices of
// 50 MB each (the whole text quoted, the files attached again) that relays
// refuse, holding several copies in memory while rendering. Each notice
// now quotes the start of the text and says how much more there is, and
// names the files with their sizes instead of attaching them; the ticket
// keeps the whole mail.
func TestNoticesOfABigMailStaySmall(t *testing.T) {
	store, _ := notifyingStore(t)
	r := newRig(t, store, func(_ *intake.Options, l *listener.Config) {
		l.MaxMessageBytes, l.DeliverTimeout = 16<<20, 5*time.Minute
	})
	var text strings.Builder
	for text.Len() < 3<<20 {
		text.WriteString("customers are reporting a 404 error when browsing to online banking, log line follows\n")
	}
	file := make([]byte, 2<<20)
	if _, err := rand.Read(file); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(file)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\n")
	}
	raw := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "entire mobile online banking is down",
		"--b1\nContent-Type: text/plain; charset=utf-8\n\n"+text.String()+
			"--b1\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"dump.bin\"\n"+
			"Content-Transfer-Encoding: base64\n\n"+wrapped.String()+"--b1--\n",
		"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b1"`)
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
	in := r.Inbound(intaketest.MessageID(raw))
	if in.Outcome != "new_ticket" {
		t.Fatalf("big mail: %s (%s)", in.Outcome, in.Reason)
	}
	tk := r.Ticket(in.Number)
	// The message holds the first MiB of the text and says where the rest
	// is: in the mail as received, stored whole.
	if n := r.Count(`SELECT count(*) FROM messages WHERE ticket_id = $1 AND octet_length(body) BETWEEN 1 << 19 AND (1 << 20) + 200
		AND body LIKE '%the rest of this text is in the mail as received: postdesk mail show%--raw]'`, tk.ID); n != 1 {
		t.Errorf("the ticket's message is not the start of the text with a pointer to the rest")
	}
	if !bytes.Equal(in.Raw, []byte(raw)) {
		t.Errorf("the mail as received is not stored whole")
	}
	// The file, above the size from which values are streamed, is stored
	// byte for byte.
	if n := r.Count(`SELECT count(*) FROM attachments a JOIN blobs b ON b.sha256 = a.sha256
		WHERE a.filename = 'dump.bin' AND b.content = $1 AND b.size = $2`, file, len(file)); n != 1 {
		t.Errorf("the attachment is not stored byte for byte")
	}
	r.answers("") // renders every queued notice
	rows, err := r.Org.Store.Pool().Query(t.Context(), `SELECT template, recipient, convert_from(rendered, 'UTF8')
		FROM outbound_mails WHERE ticket_id = $1 ORDER BY id`, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var template, to, mail string
		if err := rows.Scan(&template, &to, &mail); err != nil {
			t.Fatal(err)
		}
		seen++
		// Text and HTML parts, each with at most 32 KiB of the text.
		if len(mail) > 160<<10 {
			t.Errorf("%s to %s: %d bytes for a mail of %d", template, to, len(mail), len(raw))
		}
		if !strings.Contains(mail, "more of this message not quoted here") {
			t.Errorf("%s to %s does not say the text was cut", template, to)
		}
		if strings.Contains(mail, "Content-Disposition: attachment") {
			t.Errorf("%s to %s attaches the customer's file again", template, to)
		}
		if strings.HasPrefix(template, "agent_") && !strings.Contains(mail, "dump.bin (2.1 MB)") {
			t.Errorf("%s to %s does not name the file with its size", template, to)
		}
	}
	if seen < 2 {
		t.Fatalf("%d notices, want the acknowledgement and the alerts", seen)
	}
}
