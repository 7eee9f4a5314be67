package listener_test

import (
	"bytes"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// Lines longer than RFC 5321's 1,000 octets are common in real mail
// (unfolded HTML, single-line JSON). As Postfix does, they are taken up
// to the message size limit and stored exactly as they came.
func TestLongLinesAreStoredByteForByte(t *testing.T) {
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) { lc.MaxMessageBytes = 1 << 20 })
	long := func(n int, c byte) string { return strings.Repeat(string(c), n) }
	raw := intaketest.Mail("jane@user.com", "support@bank.example", "long lines",
		"a short line\n"+long(2000, 'a')+"\n"+long(100000, 'b')+"\nthe end", "X-Long: "+long(3000, 'h'))
	r.MustSend("jane@user.com", []string{"support@bank.example"}, raw)
	in := r.Inbound(intaketest.MessageID(raw))
	if !bytes.Equal(in.Raw, []byte(raw)) {
		t.Fatalf("stored %d bytes, sent %d: not byte for byte", len(in.Raw), len(raw))
	}
	if in.Outcome != "new_ticket" {
		t.Fatalf("outcome %s (%s)", in.Outcome, in.Reason)
	}
	// The session goes on: the next mail on it is taken too.
	c := r.Session("client.example")
	next := intaketest.Mail("jane@user.com", "support@bank.example", "after", long(5000, 'c'))
	if err := c.SendMail("jane@user.com", []string{"support@bank.example"}, strings.NewReader(next)); err != nil {
		t.Fatalf("second mail: %v", err)
	}
	if err := c.SendMail("jane@user.com", []string{"support@bank.example"},
		strings.NewReader(intaketest.Mail("jane@user.com", "support@bank.example", "third", "short"))); err != nil {
		t.Fatalf("third mail on the same session: %v", err)
	}
}

// SIZE= above the limit is 552 5.3.4 whatever the number, however many
// digits; at the limit it is taken.
func TestSizeAboveLimitIs552(t *testing.T) {
	const limit = 64 << 10
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) { lc.MaxMessageBytes = limit })
	c := dialText(t, r.Addr)
	for _, size := range []string{"4294967296", "18446744073709551617", strconv.Itoa(limit + 1),
		"99999999999999999999999999999999999999"} {
		code, msg := c.cmd(t, "MAIL FROM:<jane@user.com> SIZE="+size)
		if code != 552 || !strings.HasPrefix(msg, "5.3.4 ") {
			t.Errorf("SIZE=%s: %d %s, want 552 5.3.4", size, code, msg)
		}
	}
	if code, msg := c.cmd(t, "MAIL FROM:<jane@user.com> SIZE="+strconv.Itoa(limit)); code != 250 {
		t.Errorf("SIZE at the limit: %d %s, want 250", code, msg)
	}
	if code, msg := c.cmd(t, "RSET"); code != 250 {
		t.Errorf("RSET: %d %s", code, msg)
	}
	if code, msg := c.cmd(t, "MAIL FROM:<jane@user.com> SIZE=12x"); code != 501 {
		t.Errorf("SIZE=12x: %d %s, want 501", code, msg)
	}
}

// textConn is an SMTP client that speaks line by line, for commands the
// go-smtp client will not send.
type textConn struct{ *textproto.Conn }

func dialText(t *testing.T, addr string) *textConn {
	t.Helper()
	tc, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	c := &textConn{tc}
	if code, msg, err := c.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %d %s %v", code, msg, err)
	}
	if code, msg := c.cmd(t, "EHLO client.example"); code != 250 {
		t.Fatalf("EHLO: %d %s", code, msg)
	}
	return c
}

// cmd sends one command and returns the reply's code and (last) text.
func (c *textConn) cmd(t *testing.T, line string) (int, string) {
	t.Helper()
	if err := c.PrintfLine("%s", line); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return c.reply(t)
}

func (c *textConn) reply(t *testing.T) (int, string) {
	t.Helper()
	code, msg, err := c.ReadResponse(0)
	if err != nil && code == 0 {
		t.Fatalf("reading reply: %v", err)
	}
	lines := strings.Split(msg, "\n")
	return code, lines[len(lines)-1]
}

// send runs one mail transaction on c and returns DATA's final reply.
func (c *textConn) send(t *testing.T, from, to, raw string) (int, string) {
	t.Helper()
	for _, l := range []string{"MAIL FROM:<" + from + ">", "RCPT TO:<" + to + ">"} {
		if code, msg := c.cmd(t, l); code != 250 {
			return code, msg
		}
	}
	if code, msg := c.cmd(t, "DATA"); code != 354 {
		return code, msg
	}
	w := c.DotWriter()
	fmt.Fprint(w, raw)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return c.reply(t)
}

// Mail to postmaster at each domain we serve is accepted (RFC 5321
// §4.5.1), <postmaster> without a domain too; with no postmaster mailbox
// configured it is kept in quarantine with the reason.
func TestPostmasterIsAcceptedAndQuarantined(t *testing.T) {
	r := intaketest.New(t, nil, nil)
	c := dialText(t, r.Addr)
	var ids []string
	for _, rcpt := range []string{"postmaster@bank.example", "Postmaster@BANK.EXAMPLE", "postmaster", "POSTMASTER"} {
		raw := intaketest.Mail("ops@user.com", "postmaster@bank.example", "your MX", "your MX rejects our mail")
		code, msg := c.send(t, "ops@user.com", rcpt, raw)
		if code != 250 {
			t.Fatalf("RCPT TO:<%s>: %d %s, want it accepted", rcpt, code, msg)
		}
		ids = append(ids, intaketest.MessageID(raw))
	}
	for _, id := range ids {
		in := r.Inbound(id)
		if in.Outcome != "quarantined" || !strings.Contains(in.Reason, "postmaster") {
			t.Fatalf("postmaster mail: %s (%s), want quarantined with a reason that names postmaster", in.Outcome, in.Reason)
		}
	}
	if n := r.Count(`SELECT count(*) FROM tickets`); n != 0 {
		t.Fatalf("%d tickets from postmaster mail with no postmaster mailbox", n)
	}
	// Only the domains we serve have our postmaster.
	if code, msg := c.cmd(t, "MAIL FROM:<ops@user.com>"); code != 250 {
		t.Fatalf("MAIL: %d %s", code, msg)
	}
	if code, msg := c.cmd(t, "RCPT TO:<postmaster@elsewhere.example>"); code != 550 {
		t.Fatalf("postmaster of a foreign domain: %d %s, want 550", code, msg)
	}
}

// With listen.postmaster naming a mailbox, postmaster mail opens a ticket
// there, as mail to that mailbox would.
func TestPostmasterRoutesToConfiguredMailbox(t *testing.T) {
	r := intaketest.New(t, nil, func(o *intake.Options, _ *listener.Config) { o.Postmaster = "outage@bank.example" })
	c := dialText(t, r.Addr)
	for _, rcpt := range []string{"postmaster@bank.example", "postmaster"} {
		raw := intaketest.Mail("ops@user.com", rcpt, "your MX", "your MX rejects our mail")
		if code, msg := c.send(t, "ops@user.com", rcpt, raw); code != 250 {
			t.Fatalf("RCPT TO:<%s>: %d %s", rcpt, code, msg)
		}
		in := r.Inbound(intaketest.MessageID(raw))
		if in.Outcome != "new_ticket" {
			t.Fatalf("postmaster mail: %s (%s), want a new ticket", in.Outcome, in.Reason)
		}
		if tk := r.Ticket(in.Number); tk.MailboxName != "outage" {
			t.Fatalf("postmaster mail went to mailbox %s, want outage", tk.MailboxName)
		}
	}
}
