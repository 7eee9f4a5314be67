// Package intaketest is the rig of the intake tests: a processor and an SMTP
// listener over a fresh database with the scenario's organisation, and the
// mails the tests send it. Only tests import it.
package intaketest

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

// ReplySecret is the rig's secret for reply tokens.
var ReplySecret = []byte("intake-test-secret-0123456789")

// QuietLogger discards what it is given, so that test output shows only
// the test's own failures.
func QuietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Rig is a running processor and SMTP listener over one test's database.
type Rig struct {
	T    *testing.T
	Org  *tickettest.Org
	Proc *intake.Processor
	Lis  *listener.Listener
	Addr string // the listener's address

	network string // the listener's, for Send: "tcp" or "unix"
	lmtp    bool
}

// New starts a processor and an SMTP listener over a fresh database with
// the scenario's organisation, or over store when it is not nil. mod, when
// not nil, changes the options before they are used.
func New(t *testing.T, store *ticket.Store, mod func(*intake.Options, *listener.Config)) *Rig {
	t.Helper()
	ctx := context.Background()
	var org *tickettest.Org
	if store == nil {
		org = tickettest.New(t, nil)
	} else {
		org = tickettest.Sync(t, store)
	}
	opts := intake.Options{MessageIDDomain: "bank.example", ReplySecret: ReplySecret,
		OwnAddresses: []string{"helpdesk@bank.example", "sysadmins@bank.example"}, Logger: QuietLogger()}
	lc := listener.Config{Addr: "127.0.0.1:0", Hostname: "mx.bank.example", MaxMessageBytes: 64 << 10,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, DeliverTimeout: 5 * time.Second, Logger: QuietLogger()}
	if mod != nil {
		mod(&opts, &lc)
	}
	proc, err := intake.NewProcessor(ctx, org.Store, opts)
	if err != nil {
		t.Fatal(err)
	}
	lis := listener.New(proc, lc)
	if err := lis.Listen(); err != nil {
		t.Fatal(err)
	}
	go lis.Serve() //nolint:errcheck
	t.Cleanup(func() { lis.Close() })
	network := lc.Network
	if network == "" {
		network = "tcp"
	}
	return &Rig{T: t, Org: org, Proc: proc, Lis: lis, Addr: lis.Addr().String(), network: network, lmtp: lc.LMTP}
}

var seq atomic.Int64

// Mail builds a CRLF message with a Message-ID of its own. Extra lines
// replace the header line of the same name or are added to the header.
func Mail(from, to, subject, body string, extra ...string) string {
	n := seq.Add(1)
	h := []string{
		"From: " + from,
		"To: " + to,
		"Subject: " + subject,
		"Date: Fri, 27 Nov 2026 09:00:00 +0000",
		fmt.Sprintf("Message-ID: <test-%d-%d@client.example>", time.Now().UnixNano(), n),
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
	}
	for _, e := range extra {
		name, _, _ := strings.Cut(e, ":")
		replaced := false
		for i, l := range h {
			if strings.HasPrefix(l, name+":") {
				h[i], replaced = e, true
			}
		}
		if !replaced {
			h = append(h, e)
		}
	}
	return strings.Join(h, "\r\n") + "\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"
}

// MessageID is the id in raw's Message-ID line, without the angle brackets.
func MessageID(raw string) string {
	for _, l := range strings.Split(raw, "\r\n") {
		if strings.HasPrefix(l, "Message-ID: <") {
			return strings.TrimSuffix(strings.TrimPrefix(l, "Message-ID: <"), ">")
		}
	}
	return ""
}

// SendSMTP delivers raw to the SMTP server at addr as a client that greets
// with helo, and returns the server's error, if any.
func SendSMTP(addr, helo, from string, to []string, raw string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		return err
	}
	if err := c.SendMail(from, to, strings.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

// Session opens an SMTP session with the rig's listener as a client that
// greets with helo; it is closed at the end of the test.
func (r *Rig) Session(helo string) *smtp.Client {
	r.T.Helper()
	c, err := smtp.Dial(r.Addr)
	if err != nil {
		r.T.Fatal(err)
	}
	r.T.Cleanup(func() { c.Close() })
	if err := c.Hello(helo); err != nil {
		r.T.Fatal(err)
	}
	return c
}

// Send delivers raw over SMTP (or LMTP, as the listener speaks) and
// returns the server's error, if any.
func (r *Rig) Send(from string, to []string, raw string) error {
	if r.network == "tcp" && !r.lmtp {
		return SendSMTP(r.Addr, "client.example", from, to, raw)
	}
	conn, err := net.Dial(r.network, r.Addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	if r.lmtp {
		c = smtp.NewClientLMTP(conn)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		return err
	}
	if err := c.SendMail(from, to, strings.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

// MustSend delivers raw over SMTP and fails the test if the server refuses.
func (r *Rig) MustSend(from string, to []string, raw string) {
	r.T.Helper()
	if err := r.Send(from, to, raw); err != nil {
		r.T.Fatalf("send: %v", err)
	}
}

// Inbound is a stored mail record.
type Inbound struct {
	Outcome, Reason, Rule, Number string
	Raw                           []byte
}

// Inbound is the stored record of the mail with the given Message-ID (the
// first stored, should there be more), read through intake's own listing,
// which is how everything outside intake reads its table.
func (r *Rig) Inbound(messageID string) Inbound {
	r.T.Helper()
	ctx := context.Background()
	list, err := intake.StoredMails(ctx, r.Org.Store.Pool(), "", math.MaxInt32)
	if err != nil {
		r.T.Fatal(err)
	}
	for i := len(list) - 1; i >= 0; i-- { // newest first
		if list[i].MessageID != messageID {
			continue
		}
		m, err := intake.GetStoredMail(ctx, r.Org.Store.Pool(), list[i].ID)
		if err != nil {
			r.T.Fatal(err)
		}
		return Inbound{Outcome: string(m.Outcome), Reason: m.Reason, Rule: m.ThreadRule, Number: m.TicketNumber, Raw: m.Raw}
	}
	r.T.Fatalf("inbound mail %s: not stored", messageID)
	return Inbound{}
}

// Count runs a query that returns one number in the rig's database.
func (r *Rig) Count(query string, args ...any) int {
	r.T.Helper()
	return dbtest.Count(r.T, r.Org.Store.Pool(), query, args...)
}

// Ticket is the stored ticket with the given number.
func (r *Rig) Ticket(number string) *ticket.Ticket {
	r.T.Helper()
	tk, err := r.Org.Store.Get(context.Background(), number)
	if err != nil {
		r.T.Fatal(err)
	}
	return tk
}
