package listener_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// TestMemoryBudgetPushesBack: big mails taken in at once are bounded by
// the memory budget. A mail that declares a SIZE that does not fit while
// another is being read is answered 451 4.3.1 at MAIL FROM, before it is
// sent; the sender retries and is served once the first mail is stored.
// Without the budget, five 20 MiB mails at once took 5 GB.
func TestMemoryBudgetPushesBack(t *testing.T) {
	const budget = 6 << 20 // with 4 bytes per byte of mail: 1.5 MiB of mail at once
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
		lc.MaxMessageBytes, lc.MemoryBudget = 1<<20, budget
	})
	big := func(subject string, n int) string {
		return intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", subject,
			strings.Repeat("customers are reporting a 404 error when browsing to online banking\n", n/69))
	}
	first, second := big("first", 800<<10), big("second", 800<<10)

	// The first mail is under way: declared and mostly sent (the budget
	// holds what has come, not what was declared).
	a := r.Session("a.user.com")
	if err := a.Mail("jane@user.com", &smtp.MailOptions{Size: int64(len(first))}); err != nil {
		t.Fatal(err)
	}
	if err := a.Rcpt("outage@bank.example", nil); err != nil {
		t.Fatal(err)
	}
	w, err := a.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(first[:len(first)*7/8])); err != nil {
		t.Fatal(err)
	}

	// The second does not fit beside it, once the listener has read what
	// the first sent (it reads as the bytes come: ask until it has).
	b := r.Session("b.user.com")
	var se *smtp.SMTPError
	for i := 0; ; i++ {
		err = b.Mail("jane@user.com", &smtp.MailOptions{Size: int64(len(second))})
		if err != nil || i == 200 {
			break
		}
		if err := b.Reset(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
		t.Fatalf("MAIL FROM of a mail that does not fit: %v, want 451 4.3.1", err)
	}

	// The first is stored; then the second fits.
	if _, err := w.Write([]byte(first[len(first)*7/8:])); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("first mail: %v", err)
	}
	if err := intaketest.SendSMTP(r.Addr, "b.user.com", "jane@user.com", []string{"outage@bank.example"}, second); err != nil {
		t.Fatalf("second mail, after the first: %v", err)
	}
	for _, raw := range []string{first, second} {
		if in := r.Inbound(intaketest.MessageID(raw)); in.Outcome != "new_ticket" || len(in.Raw) != len(raw) {
			t.Errorf("%s: %s, %d bytes of %d", intaketest.MessageID(raw), in.Outcome, len(in.Raw), len(raw))
		}
	}
}

// TestMemoryBudgetWithoutSize: a mail that declares no SIZE takes the
// budget as its data comes; when the budget runs out in the middle of it,
// the mail is answered 451 4.3.1 after its data, nothing of it is stored,
// and the session goes on.
func TestMemoryBudgetWithoutSize(t *testing.T) {
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
		lc.MaxMessageBytes, lc.MemoryBudget = 4<<20, 16<<20
	})
	huge := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "huge",
		strings.Repeat("customers are reporting a 404 error when browsing to online banking\n", (3<<20)/69))
	// Another session holds most of the budget with a mail it declared
	// and has begun to send.
	other := r.Session("b.user.com")
	if err := other.Mail("jane@user.com", &smtp.MailOptions{Size: 3 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := other.Rcpt("outage@bank.example", nil); err != nil {
		t.Fatal(err)
	}
	ow, err := other.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ow.Write([]byte("From: jane@user.com\r\n" + strings.Repeat("x", 76) + "\r\n")); err != nil {
		t.Fatal(err)
	}
	for range (5 << 20) / 2 / 80 {
		if _, err := ow.Write([]byte(strings.Repeat("x", 78) + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	c := r.Session("a.user.com")
	if err := c.Mail("jane@user.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("outage@bank.example", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(huge)); err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	if err := w.Close(); !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
		t.Fatalf("a mail over the budget: %v, want 451 4.3.1", err)
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 0 {
		t.Errorf("%d mails stored", n)
	}
	small := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "small", "hello")
	if err := c.Mail("jane@user.com", nil); err != nil {
		t.Fatalf("the session after the 451: %v", err)
	}
	if err := c.Rcpt("outage@bank.example", nil); err != nil {
		t.Fatal(err)
	}
	w, err = c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(small)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("a small mail after the 451: %v", err)
	}
}

// TestDeclaredSizeHoldsOnlyWhatCame: a client that declares the largest
// SIZE and then trickles its data holds the budget for what it has sent,
// not for what it declared: three such sessions do not keep a normal mail
// out.
func TestDeclaredSizeHoldsOnlyWhatCame(t *testing.T) {
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) {
		lc.MaxMessageBytes, lc.MemoryBudget = 4<<20, 20<<20
	})
	for range 3 {
		c := r.Session("slow.user.com")
		if err := c.Mail("jane@user.com", &smtp.MailOptions{Size: 4 << 20}); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("outage@bank.example", nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("From: jane@user.com\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	raw := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "normal",
		strings.Repeat("customers are reporting a 404 error when browsing to online banking\n", (1<<20)/69))
	c := r.Session("mx.user.com")
	if err := c.Mail("jane@user.com", &smtp.MailOptions{Size: int64(len(raw))}); err != nil {
		t.Fatalf("MAIL FROM beside three trickling sessions: %v", err)
	}
	if err := c.Rcpt("outage@bank.example", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("a normal mail beside three trickling sessions: %v", err)
	}
}
