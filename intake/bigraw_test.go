package intake_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// TestBigMailsAreStoredByteForByte: a mail above the size from which its
// bytes are streamed to PostgreSQL (COPY) is stored exactly as it came,
// also when several arrive at once and share a commit, and a duplicate of
// one changes nothing.
func TestBigMailsAreStoredByteForByte(t *testing.T) {
	r := newRig(t, nil, func(_ *intake.Options, l *listener.Config) {
		l.MaxMessageBytes, l.DeliverTimeout = 16<<20, 5*time.Minute
	})
	var mails []string
	for i := range 3 {
		var body strings.Builder
		for body.Len() < (2<<20)+i*1000 {
			// Every byte value but CR and LF, which SMTP's line ends carry.
			for b := range 256 {
				if b != '\r' && b != '\n' && b != '.' {
					body.WriteByte(byte(b))
				}
			}
			body.WriteString("\n")
		}
		mails = append(mails, intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example",
			fmt.Sprintf("big %d", i), body.String(), "Content-Type: application/octet-stream"))
	}
	var wg sync.WaitGroup
	for _, raw := range mails {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
		}()
	}
	wg.Wait()
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, mails[0]) // a retry
	for i, raw := range mails {
		in := r.Inbound(intaketest.MessageID(raw))
		if !bytes.Equal(in.Raw, []byte(raw)) {
			t.Errorf("mail %d: stored %d bytes, not the %d sent", i, len(in.Raw), len(raw))
		}
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != len(mails) {
		t.Errorf("%d stored mails, want %d", n, len(mails))
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails WHERE size = octet_length(raw)`); n != len(mails) {
		t.Errorf("%d stored mails have their size right", n)
	}
}
