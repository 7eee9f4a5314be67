package listener_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

var replySecret = []byte("intake-test-secret-0123456789")

type rig struct {
	t    *testing.T
	org  *tickettest.Org
	proc *intake.Processor
	lis  *listener.Listener
	addr string
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newRig starts a processor and an SMTP listener over a fresh database with
// the scenario's organisation. (intake's own tests have a rig like it.)
func newRig(t *testing.T, store *ticket.Store, mod func(*intake.Options, *listener.Config)) *rig {
	t.Helper()
	ctx := context.Background()
	var org *tickettest.Org
	if store == nil {
		org = tickettest.New(t, nil)
	} else {
		org = tickettest.Sync(t, store)
	}
	opts := intake.Options{MessageIDDomain: "bank.example", ReplySecret: replySecret,
		OwnAddresses: []string{"helpdesk@bank.example", "sysadmins@bank.example"}, Logger: quietLogger()}
	lc := listener.Config{Addr: "127.0.0.1:0", Hostname: "mx.bank.example", MaxMessageBytes: 64 << 10,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, DeliverTimeout: 5 * time.Second, Logger: quietLogger()}
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
	return &rig{t: t, org: org, proc: proc, lis: lis, addr: lis.Addr().String()}
}

var seq atomic.Int64

// mail builds a CRLF message. Extra lines are added to the header.
func mail(from, to, subject, body string, extra ...string) string {
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

func messageID(raw string) string {
	for _, l := range strings.Split(raw, "\r\n") {
		if strings.HasPrefix(l, "Message-ID: <") {
			return strings.TrimSuffix(strings.TrimPrefix(l, "Message-ID: <"), ">")
		}
	}
	return ""
}

// send delivers raw over SMTP and returns the server's error, if any.
func (r *rig) send(from string, to []string, raw string) error {
	c, err := smtp.Dial(r.addr)
	if err != nil {
		return err
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

func (r *rig) mustSend(from string, to []string, raw string) {
	r.t.Helper()
	if err := r.send(from, to, raw); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// inbound is a stored mail record.
type inbound struct {
	outcome, reason, rule, number string
	raw                           []byte
}

func (r *rig) inbound(messageID string) inbound {
	r.t.Helper()
	var in inbound
	var number *string
	err := r.org.Store.Pool().QueryRow(context.Background(), `
		SELECT i.outcome, i.reason, i.thread_rule, t.number, i.raw
		  FROM inbound_mails i LEFT JOIN tickets t ON t.id = i.ticket_id WHERE i.message_id = $1`, messageID).
		Scan(&in.outcome, &in.reason, &in.rule, &number, &in.raw)
	if err != nil {
		r.t.Fatalf("inbound mail %s: %v", messageID, err)
	}
	if number != nil {
		in.number = *number
	}
	return in
}

func (r *rig) count(query string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.org.Store.Pool().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) ticket(number string) *ticket.Ticket {
	r.t.Helper()
	tk, err := r.org.Store.Get(context.Background(), number)
	if err != nil {
		r.t.Fatal(err)
	}
	return tk
}
