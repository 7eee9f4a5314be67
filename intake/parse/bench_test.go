package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchParseCases are the corpus mails the parse benchmarks use.
var benchParseCases = []string{
	"stalwart-mail-parser/legacy/001.eml",
	"stalwart-mail-parser/legacy/035.eml",
	"stalwart-mail-parser/thirdparty/019.eml",
	"sisimai-set-of-emails/maildir/bsd/lhost-postfix-02.eml",
	"sisimai-set-of-emails/maildir/bsd/lhost-qmail-02.eml",
}

// BenchmarkParse parses a few representative mails from the corpus: a
// plain Latin-1 message, multipart/alternative with inline images, a
// multipart/report bounce, and a non-standard bounce.
func BenchmarkParse(b *testing.B) {
	dir := filepath.Join(repoRoot(b), "..", "shared", "corpus")
	for _, c := range benchParseCases {
		raw, err := os.ReadFile(filepath.Join(dir, c))
		if err != nil {
			b.Skipf("corpus not available: %v", err)
		}
		b.Run(filepath.Base(filepath.Dir(c))+"/"+filepath.Base(c), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchPlainMail is a plain-text mail of about size bytes as the SMTP
// ingest benchmark sends it: a new customer's question, no quoted history.
func benchPlainMail(size int) []byte {
	var sb strings.Builder
	sb.WriteString("From: Customer 7 <customer-7@user.com>\r\nTo: Bank Support <support@bank.example>\r\n" +
		"Subject: card 7 declined at checkout\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\n" +
		"Message-ID: <bench-7-1@user.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,\r\n\r\n")
	line := "my card was declined when I tried to pay online, though the balance is fine. "
	for sb.Len() < size-40 {
		w := min(len(line), size-40-sb.Len())
		sb.WriteString(strings.TrimSpace(line[:w]))
		sb.WriteString("\r\n")
	}
	sb.WriteString("\r\nThanks,\r\nCustomer 7\r\n")
	return []byte(sb.String())
}

// benchReplyMail is a customer's answer of about size bytes to an agent's
// notice, as Gmail writes it: a few new lines, the attribution, and the
// notice quoted with "> ".
func benchReplyMail(size int) []byte {
	var sb strings.Builder
	sb.WriteString("From: Customer 7 <customer-7@user.com>\r\nTo: Bank Support <support@bank.example>\r\n" +
		"Subject: Re: [#4711] card 7 declined at checkout\r\nDate: Fri, 27 Nov 2026 10:12:00 +0000\r\n" +
		"Message-ID: <CAF=reply-7-1@mail.gmail.com>\r\nIn-Reply-To: <notice-4711-2@bank.example>\r\n" +
		"References: <bench-7-1@user.com> <notice-4711-2@bank.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n" +
		"Hi Ken,\r\n\r\nI tried again this morning and the card was declined once more.\r\n" +
		"The shop says the payment never reached them.\r\n\r\nThanks,\r\nCustomer 7\r\n\r\n" +
		"On Fri, Nov 27, 2026 at 9:30 AM Bank Support <support@bank.example> wrote:\r\n\r\n" +
		"> Dear Customer 7,\r\n>\r\n")
	line := "> we have checked your card and found no block on it. Please try the payment again. "
	for sb.Len() < size-60 {
		w := min(len(line), size-60-sb.Len())
		sb.WriteString(strings.TrimSpace(line[:w]))
		sb.WriteString("\r\n")
	}
	sb.WriteString(">\r\n> Kind regards,\r\n> Ken, Bank Support\r\n>\r\n")
	return []byte(sb.String())
}

// BenchmarkParseIngest parses the mails the SMTP ingest path sees most: a
// plain 2 KB question and a 2 KB reply over quoted history.
func BenchmarkParseIngest(b *testing.B) {
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"plain2k", benchPlainMail(2048)},
		{"reply2k", benchReplyMail(2048)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(c.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
