package parse

import (
	"bytes"
	"strings"
	"testing"
)

// The tests in this file cover failure classes first seen in real mail
// that the corpora did not hold (issue 12, point 8). Each testdata mail
// says in its Comments field what public source it was modelled on.

// TestReplyTextKeepsOnlyQuote: a reply that is nothing but a quote keeps
// its text as the reply rather than an empty one.
func TestReplyTextKeepsOnlyQuote(t *testing.T) {
	m, _ := parseFile(t, "only-quote-reply.eml")
	if got, want := m.ReplyText, strings.TrimSpace(m.Text); got != want || got == "" {
		t.Errorf("ReplyText = %q, want the whole text %q", got, want)
	}
}

// TestBounceWithoutDSN: delivery reports that carry no message/delivery-status
// part are still bounces, with what they tell about the failed delivery: a
// plain-text daemon notice, list managers' rejections, Amazon SES
// notifications delivered by SNS (as an escaped JSON envelope, or as an
// event-publishing record).
func TestBounceWithoutDSN(t *testing.T) {
	tests := []struct {
		file      string
		want      BounceInfo
		diagnosis string // a part of the diagnostic
	}{
		{"bounce-plain-daemon.eml", BounceInfo{OriginalMessageID: "ticket-4711.2@help.example", Recipient: "jane@customer.example"}, ""},
		{"bounce-mailman-reject.eml", BounceInfo{OriginalMessageID: "ticket-4711.3@help.example", Recipient: "team@lists.customer.example",
			Action: "failed"}, "not allowed to post"},
		{"bounce-listserv-reject.eml", BounceInfo{OriginalMessageID: "ticket-4711.4@help.example", Recipient: "payments-l@lists.customer.example",
			Action: "failed"}, "not authorized to send mail"},
		{"bounce-ses-sns-json.eml", BounceInfo{OriginalMessageID: "ticket-4711.5@help.example", Recipient: "jane@customer.example",
			Status: "5.1.1", Action: "failed"}, "550 5.1.1 user unknown"},
		{"bounce-ses-event.eml", BounceInfo{OriginalMessageID: "ticket-4712.1@help.example", Recipient: "old@customer.example",
			Status: "5.1.1", Action: "failed"}, "suppressed sending"},
	}
	for _, tc := range tests {
		t.Run(strings.TrimSuffix(tc.file, ".eml"), func(t *testing.T) {
			m, _ := parseFile(t, tc.file)
			if m.Class != ClassBounce || m.Bounce == nil {
				t.Fatalf("class %q (%s), bounce %+v; want a bounce", m.Class, m.Signal, m.Bounce)
			}
			b := *m.Bounce
			if b.OriginalMessageID != tc.want.OriginalMessageID || !strings.EqualFold(b.Recipient, tc.want.Recipient) ||
				(tc.want.Status != "" && b.Status != tc.want.Status) || (tc.want.Action != "" && b.Action != tc.want.Action) {
				t.Errorf("bounce %+v, want %+v", b, tc.want)
			}
			if !strings.Contains(strings.Join(strings.Fields(b.Diagnostic), " "), tc.diagnosis) {
				t.Errorf("diagnostic %q, want it to say %q", b.Diagnostic, tc.diagnosis)
			}
		})
	}
}

// TestMailAboutBounceIsNotBounce: a person who forwards a failure notice
// with a question, inline or attached, and a list thread that quotes one,
// wrote a person's mail, not a delivery report.
func TestMailAboutBounceIsNotBounce(t *testing.T) {
	for _, file := range []string{"bounce-forwarded-question.eml", "bounce-forwarded-attached.eml", "bounce-thread-reply.eml"} {
		t.Run(strings.TrimSuffix(file, ".eml"), func(t *testing.T) {
			m, _ := parseFile(t, file)
			if m.Class == ClassBounce {
				t.Errorf("class %q (bounce %+v); a person's mail about a bounce is not one", m.Class, m.Bounce)
			}
		})
	}
}

// TestUuencodeDecodedWhole: a uuencoded file in a text part comes out whole,
// even when the part is labelled quoted-printable without being encoded so
// and a data line ends in "=".
func TestUuencodeDecodedWhole(t *testing.T) {
	m, _ := parseFile(t, "uuencode-mislabelled-qp.eml")
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments %v, want the uuencoded PNG", attSummary(m.Attachments))
	}
	a := m.Attachments[0]
	const sum = "4568841735c44a7e13d98139baf3055f07d5f56108f55939ce24a77627d478f8"
	if a.Filename != "swatch.png" || a.Size != 380 || a.SHA256 != sum {
		t.Errorf("attachment %s %d bytes sha256 %s, want swatch.png 380 bytes sha256 %s", a.Filename, a.Size, a.SHA256, sum)
	}
	if strings.Contains(m.Text, "begin 644") || !strings.Contains(m.Text, "Regards,") {
		t.Errorf("text %q, want the prose without the uuencoded block", m.Text)
	}
}

// TestBinaryPartsByteExact: parts sent with Content-Transfer-Encoding binary
// or 8bit are attachments with their bytes as on the wire: CR LF pairs in a
// CRLF mail (a PNG's signature holds one) are content, not line breaks.
func TestBinaryPartsByteExact(t *testing.T) {
	m, raw := parseFile(t, "binary-parts-crlf.eml")
	want := map[string]struct {
		size int
		sum  string
	}{
		"scan.png":    {380, "4568841735c44a7e13d98139baf3055f07d5f56108f55939ce24a77627d478f8"},
		"amounts.csv": {54, "3ba2b8714b7c01faaa69a067936ea899c2d976e6a67b281cfb3f3aea82e64e9b"},
	}
	if len(m.Attachments) != len(want) {
		t.Fatalf("attachments %v", attSummary(m.Attachments))
	}
	for _, a := range m.Attachments {
		w := want[a.Filename]
		if a.Size != w.size || (w.sum != "" && a.SHA256 != w.sum) {
			t.Errorf("%s: %d bytes sha256 %s, want %d bytes sha256 %s", a.Filename, a.Size, a.SHA256, w.size, w.sum)
		}
		if !bytes.Contains(raw, a.Content) {
			t.Errorf("%s: content is not the bytes of the mail", a.Filename)
		}
	}
	if !bytes.HasPrefix(m.Attachments[0].Content, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("PNG signature broken: % x", m.Attachments[0].Content[:min(8, len(m.Attachments[0].Content))])
	}
}

// TestBase64JunkAfterData: a base64 part followed by a little junk (here
// what is left of a damaged closing delimiter) is decoded, not handed over
// as base64 text.
func TestBase64JunkAfterData(t *testing.T) {
	m, _ := parseFile(t, "base64-junk-tail.eml")
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments %v", attSummary(m.Attachments))
	}
	a := m.Attachments[0]
	const sum = "4568841735c44a7e13d98139baf3055f07d5f56108f55939ce24a77627d478f8"
	if a.Filename != "error.png" || a.Size != 380 || a.SHA256 != sum {
		t.Errorf("attachment %s %d bytes sha256 %s (starts %q), want error.png 380 bytes sha256 %s",
			a.Filename, a.Size, a.SHA256, a.Content[:min(12, len(a.Content))], sum)
	}
	wantProblem(t, m, "base64")
}

// TestHeaderBlankFoldLine: a header line of only blanks followed by a
// folded continuation is part of the folding (RFC 5322 obs-FWS), not the
// end of the header.
func TestHeaderBlankFoldLine(t *testing.T) {
	m, _ := parseFile(t, "header-blank-fold.eml")
	wantEqual(t, "Subject", m.Subject, "Rückfrage zur Rechnung 4711 vom März")
	wantEqual(t, "MessageID", m.MessageID, "ws-fold-1@customer.example")
	wantEqual(t, "Text", m.Text, "Grüße aus München.\n")
}

// TestMultipartOpeningNotRecognised: a multipart whose delimiter lines
// carry text after the declared boundary, or that has only a close
// delimiter, is read as its parts, not shown as raw MIME.
func TestMultipartOpeningNotRecognised(t *testing.T) {
	m, _ := parseFile(t, "multipart-boundary-cut.eml")
	wantEqual(t, "Text", m.Text, "Please find my statement for March below; the amount is 12,50 €.\n")
	if !strings.Contains(m.HTML, "12,50 €") {
		t.Errorf("HTML = %q", m.HTML)
	}

	m, _ = parseFile(t, "multipart-close-only.eml")
	wantEqual(t, "Text", m.Text, "The nightly export to the bank stopped with exit code 3.")
	if len(m.Attachments) != 0 {
		t.Errorf("attachments %v", attSummary(m.Attachments))
	}
}

// TestAddressObsoleteForms: comments inside an address, white space around
// the dots of a domain, a source route, and encoded words inside a quoted
// display name (RFC 5322 A.5, A.6.3; common from scripts).
func TestAddressObsoleteForms(t *testing.T) {
	m, _ := parseFile(t, "address-obsolete-forms.eml")
	check := func(field string, got, want []Address) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s = %v, want %v", field, got, want)
			return
		}
		for i := range want {
			if got[i].Address != want[i].Address || (want[i].Name != "" && got[i].Name != want[i].Name) {
				t.Errorf("%s = %v, want %v", field, got, want)
				return
			}
		}
	}
	check("From", []Address{m.From}, []Address{{"Pete", "pete@silly.test"}})
	check("To", m.To, []Address{{"Mary Smith", "mary@example.net"}, {"", "jdoe@test.example"}, {"", "a@example.com"}})
	check("Cc", m.Cc, []Address{{"Jürgen Müller", "j.mueller@x.example"}, {"Ken", "ken@y.example"}})
	check("Reply-To", m.ReplyTo, []Address{{"John Doe", "jdoe@machine.example"}})
}
