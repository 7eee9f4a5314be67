package intake_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// TestStoringABigMailCostsLittleMemory: storing a 24 MiB mail took 340 MB
// and a 24 MiB attachment 182 MiB more than the mail (5.5 times its size).
// Over a real SMTP session that declares the SIZE, as MTAs do, the whole
// of what the process allocates to take the mail in (the buffer it is read
// into, the parser's work, the statements that store it; garbage included)
// stays under three times the mail's size. Counting allocation, not time
// or RSS, gives the same figure on a busy machine; serve's peak RSS is
// measured in a run of its own (scripts/bench-memory).
func TestStoringABigMailCostsLittleMemory(t *testing.T) {
	r := newRig(t, nil, func(_ *intake.Options, l *listener.Config) {
		// Big mails under the race detector on a busy machine take a while.
		l.MaxMessageBytes, l.DeliverTimeout = 48<<20, 5*time.Minute
	})
	var text strings.Builder
	for i := 0; text.Len() < 24<<20; i++ {
		fmt.Fprintf(&text, "%08d customers are reporting a 404 error when browsing to online banking\n", i)
	}
	for _, c := range []struct{ name, raw string }{
		{"text", intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "the log", text.String())},
		{"attachment", intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "the dump",
			"--b1\nContent-Type: text/plain\n\nsee the dump\n--b1\nContent-Type: application/octet-stream\n"+
				"Content-Disposition: attachment; filename=\"dump.bin\"\nContent-Transfer-Encoding: base64\n\n"+
				base64Lines(24<<20)+"--b1--\n",
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b1"`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := r.Session("mx.user.com")
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if err := cl.Mail("jane@user.com", &smtp.MailOptions{Size: int64(len(c.raw))}); err != nil {
				t.Fatal(err)
			}
			if err := cl.Rcpt("outage@bank.example", nil); err != nil {
				t.Fatal(err)
			}
			w, err := cl.Data()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte(c.raw)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("the mail was not taken: %v", err)
			}
			runtime.ReadMemStats(&after)
			// The test's own copy of the mail ([]byte(c.raw)) counts too.
			allocated := after.TotalAlloc - before.TotalAlloc - uint64(len(c.raw))
			t.Logf("%d MiB mail: %d MiB allocated to take it in (%.1f times its size)",
				len(c.raw)>>20, allocated>>20, float64(allocated)/float64(len(c.raw)))
			if allocated > 3*uint64(len(c.raw)) {
				t.Errorf("taking in a %d MiB mail allocated %d MiB, more than three times its size", len(c.raw)>>20, allocated>>20)
			}
			if in := r.Inbound(intaketest.MessageID(c.raw)); in.Outcome != "new_ticket" || len(in.Raw) != len(c.raw) {
				t.Errorf("stored: %s, %d bytes of %d", in.Outcome, len(in.Raw), len(c.raw))
			}
		})
	}
}

// base64Lines is n pseudo-random bytes in base64, in lines of 76.
func base64Lines(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	x := uint32(2463534242)
	for i := 0; i < n*4/3; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%64])
		if i%76 == 75 {
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	return b.String()
}
