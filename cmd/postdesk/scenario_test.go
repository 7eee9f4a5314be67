package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/migrations/dbtest"
)

// server is a running `postdesk serve` with the shipped example
// configuration, relaying into a mailWorld.
type server struct {
	t     *testing.T
	env   map[string]string
	smtp  string
	http  string
	pool  *pgxpool.Pool
	stop  context.CancelFunc
	done  chan int
	logs  *bytes.Buffer
	world *mailWorld
}

func startServer(t *testing.T, url string, world *mailWorld) *server {
	t.Helper()
	s := &server{t: t, smtp: freeAddr(t), http: freeAddr(t), world: world, done: make(chan int, 1), logs: &bytes.Buffer{}}
	_, relayPort, _ := net.SplitHostPort(world.relayAt)
	s.env = exampleEnv(url)
	s.env["POSTDESK_SMTP_LISTEN"] = s.smtp
	s.env["POSTDESK_HTTP_LISTEN"] = s.http
	s.env["POSTDESK_RELAY_HOST"] = "127.0.0.1"
	s.env["POSTDESK_RELAY_PORT"] = relayPort
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	out := &syncBuffer{}
	go func() {
		s.done <- run(ctx, []string{"serve"}, out, out, func(k string) string { return s.env[k] })
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.smtp, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case code := <-s.done:
			t.Fatalf("serve exited with %d:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen on %s:\n%s", s.smtp, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	s.pool = pool
	t.Cleanup(func() {
		s.shutdown()
		pool.Close()
		if t.Failed() {
			t.Logf("serve output:\n%s", out.String())
		}
	})
	return s
}

func (s *server) shutdown() int {
	s.stop()
	select {
	case code := <-s.done:
		s.done <- code
		return code
	case <-time.After(40 * time.Second):
		s.t.Fatal("serve did not stop within 40 s")
		return -1
	}
}

// send delivers raw to postdesk's SMTP listener as an MTA would.
func (s *server) send(from string, to []string, raw string) error {
	return intaketest.SendSMTP(s.smtp, "mx.user.com", from, to, raw)
}

// settle waits until no notice is waiting, so that what was sent has arrived.
func (s *server) settle() {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var pending int
		if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM outbound_mails WHERE state = 'pending'`).
			Scan(&pending); err != nil {
			s.t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d notices still pending after 15 s", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) ticketField(number, expr string) string {
	s.t.Helper()
	var v string
	err := s.pool.QueryRow(context.Background(), `SELECT `+expr+` FROM tickets t
		JOIN departments d ON d.id = t.department_id WHERE t.number = $1`, number).Scan(&v)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu  chanMutex
	buf bytes.Buffer
}

type chanMutex chan struct{}

func (b *syncBuffer) lock() {
	if b.mu == nil {
		b.mu = make(chanMutex, 1)
	}
	b.mu <- struct{}{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.lock()
	defer func() { <-b.mu }()
	return b.buf.String()
}

// reply writes a mail client's reply to a notice: To its Reply-To, threaded
// under it, the text above the quoted notice.
func reply(from, text string, notice []byte) (to, raw string) {
	to = strings.Trim(header(notice, "Reply-To"), "<> ")
	if i := strings.LastIndex(to, "<"); i >= 0 {
		to = strings.Trim(to[i:], "<>")
	}
	id := header(notice, "Message-ID")
	refs := strings.TrimSpace(header(notice, "References") + " " + id)
	_, body, _ := bytes.Cut(bytes.ReplaceAll(notice, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	var quoted []string
	for i, line := range strings.Split(string(body), "\n") {
		if i > 30 {
			break
		}
		quoted = append(quoted, "> "+line)
	}
	raw = strings.Join([]string{
		"From: " + from,
		"To: " + to,
		"Subject: Re: " + strings.TrimPrefix(header(notice, "Subject"), "Re: "),
		"Date: " + time.Now().UTC().Format(time.RFC1123Z),
		fmt.Sprintf("Message-ID: <reply-%d@client.example>", time.Now().UnixNano()),
		"In-Reply-To: " + id,
		"References: " + refs,
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"",
		strings.ReplaceAll(text, "\n", "\r\n"),
		"",
		"On Fri, 27 Nov 2026 at 09:01, Bank Outage Desk <outage@bank.example> wrote:",
		strings.Join(quoted, "\r\n"),
		"",
	}, "\r\n")
	return to, raw
}

var tokenRE = regexp.MustCompile(`\[#([0-9]{6})\]`)

// janeOutage is Jane's report of the outage to outage@, the mail that opens
// the scenario's ticket, with the given Message-ID.
func janeOutage(messageID string) string {
	return strings.Join([]string{
		"From: Jane Doe <jane@user.com>",
		"To: outage@bank.example",
		"Subject: entire mobile online banking is down",
		"Date: Fri, 27 Nov 2026 09:00:00 +0000",
		"Message-ID: <" + messageID + ">",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"customers are reporting a 404 error when browsing to online banking",
		"",
	}, "\r\n")
}

// TestScenario replays the four stages with the shipped configuration over
// real SMTP, IMAP for the people's mail clients, real PostgreSQL and a real
// relay.
func TestScenario(t *testing.T) {
	world := newMailWorld(t, "jane@user.com", "ken.jay@bank.example", "mary@bank.example",
		"helpdesk@bank.example", "sysadmins@bank.example")
	url := dbtest.URL(t)
	s := startServer(t, url, world)

	// 1. Intake.
	janeID := "jane-outage-1@user.com"
	janeMail := janeOutage(janeID)
	if err := s.send("jane@user.com", []string{"outage@bank.example"}, janeMail); err != nil {
		t.Fatalf("stage 1: %v", err)
	}
	ack := world.waitFor("jane@user.com", 0, 15*time.Second)[0]
	m := tokenRE.FindStringSubmatch(header(ack, "Subject"))
	if m == nil || !bytes.Contains(ack, []byte("[#"+m[1]+"]\r\n")) && !bytes.Contains(ack, []byte("[#"+m[1]+"]")) {
		t.Fatalf("acknowledgement without token: subject %q", header(ack, "Subject"))
	}
	number := m[1]
	if header(ack, "Auto-Submitted") != "auto-replied" || !strings.Contains(header(ack, "In-Reply-To"), janeID) {
		t.Fatalf("acknowledgement headers: Auto-Submitted %q In-Reply-To %q", header(ack, "Auto-Submitted"), header(ack, "In-Reply-To"))
	}
	if got := s.ticketField(number, "t.priority || '/' || d.name"); got != "emergency/Help Desk" {
		t.Fatalf("stage 1 ticket: %s", got)
	}
	alert := world.waitFor("ken.jay@bank.example", 0, 15*time.Second)[0]
	if !strings.Contains(header(alert, "Subject"), "[#"+number+"]") || !bytes.Contains(alert, []byte("404 error")) {
		t.Fatalf("ken's alert: %q", header(alert, "Subject"))
	}
	s.settle()
	janeHas := len(world.inbox("jane@user.com"))
	maryHas := len(world.inbox("mary@bank.example"))

	// 2. Ken transfers with an internal note, from his mail client.
	const note = "coordinating with sys admin team to address critical system outage"
	to, raw := reply("Ken Jay <ken.jay@bank.example>", "#transfer System Administrators\n"+note, alert)
	if err := s.send("ken.jay@bank.example", []string{to}, raw); err != nil {
		t.Fatalf("stage 2: %v", err)
	}
	if got := s.ticketField(number, "d.name"); got != "System Administrators" {
		t.Fatalf("stage 2: department %s", got)
	}
	transfer := world.waitFor("mary@bank.example", maryHas, 15*time.Second)[0]
	if !bytes.Contains(transfer, []byte(note)) || !strings.Contains(header(transfer, "Subject"), "[#"+number+"]") {
		t.Fatalf("mary's transfer notice lacks the note:\n%s", transfer)
	}
	s.settle()
	if n := len(world.inbox("jane@user.com")); n != janeHas {
		t.Fatalf("stage 2: Jane received %d mails about an internal transfer", n-janeHas)
	}
	kenHas := len(world.inbox("ken.jay@bank.example"))

	// 3. Mary replies and resolves, from her mail client.
	const answer = "Hi Jane, we discovered a failed load balancer. The issue has been fixed and online systems should be working now"
	to, raw = reply("Mary Major <mary@bank.example>", "#resolve\n\n"+answer, transfer)
	if err := s.send("mary@bank.example", []string{to}, raw); err != nil {
		t.Fatalf("stage 3: %v", err)
	}
	if got := s.ticketField(number, "t.status"); got != "resolved" {
		t.Fatalf("stage 3: status %s", got)
	}
	fromMary := world.waitFor("jane@user.com", janeHas, 15*time.Second)
	if len(fromMary) != 1 {
		t.Fatalf("stage 3: Jane received %d mails, want one", len(fromMary))
	}
	j := fromMary[0]
	if !bytes.Contains(j, []byte("failed load balancer")) || bytes.Contains(j, []byte(note)) {
		t.Fatalf("Jane's mail: wrong text:\n%s", j)
	}
	if !strings.Contains(header(j, "Subject"), "[#"+number+"]") || !strings.Contains(header(j, "References"), janeID) ||
		header(j, "In-Reply-To") == "" {
		t.Fatalf("Jane's mail is not in her conversation: Subject %q In-Reply-To %q References %q",
			header(j, "Subject"), header(j, "In-Reply-To"), header(j, "References"))
	}

	// 4. Ken is told Mary resolved it; the history shows every step.
	resolved := world.waitFor("ken.jay@bank.example", kenHas, 15*time.Second)
	if len(resolved) != 1 || !bytes.Contains(resolved[0], []byte("Mary Major")) || !bytes.Contains(bytes.ToLower(resolved[0]), []byte("resolved")) {
		t.Fatalf("ken's resolution notice: %d mails\n%s", len(resolved), bytes.Join(resolved, []byte("\n----\n")))
	}
	code, out, errs := runCLI(t, s.env, "ticket", "show", number)
	if code != 0 {
		t.Fatalf("ticket show: %s", errs)
	}
	pos := 0
	for _, step := range []string{
		"opened by Jane Doe", "| customers are reporting a 404 error",
		"notice customer_ack to jane@user.com",
		"transferred Help Desk → System Administrators by Ken Jay", "| " + note,
		"notice agent_transfer to mary@bank.example",
		"replied by Mary Major", "| " + answer,
		"status open → resolved by Mary Major",
		"to jane@user.com",
		"notice agent_resolved to ken.jay@bank.example",
	} {
		i := strings.Index(out[pos:], step)
		if i < 0 {
			t.Fatalf("ticket show lacks %q after position %d:\n%s", step, pos, out)
		}
		pos += i + len(step)
	}

	// A forged mail From Ken, without the signed address or authentication,
	// cannot transfer the ticket back.
	forged := strings.Join([]string{
		"From: Ken Jay <ken.jay@bank.example>",
		"To: outage@bank.example",
		"Subject: Re: [#" + number + "] entire mobile online banking is down",
		"Message-ID: <forged-1@evil.example>",
		"",
		"#transfer Help Desk",
		"#priority low",
		"#assign ken",
		"",
	}, "\r\n")
	kenHas = len(world.inbox("ken.jay@bank.example"))
	if err := s.send("attacker@evil.example", []string{"outage@bank.example"}, forged); err != nil {
		t.Fatal(err)
	}
	if got := s.ticketField(number, "d.name || '/' || t.priority || '/' || coalesce(t.assignee_id::text, 'nobody')"); got != "System Administrators/emergency/nobody" {
		t.Fatalf("a forged mail changed the ticket: %s", got)
	}
	_, out, _ = runCLI(t, s.env, "ticket", "show", number)
	if !strings.Contains(out, "could not be authenticated") {
		t.Fatalf("the history does not say why the forged mail's commands did not run:\n%s", out)
	}
	// The real Ken is told that a mail in his name proved nothing.
	warned := world.waitFor("ken.jay@bank.example", kenHas, 15*time.Second)
	if !bytes.Contains(bytes.Join(warned, nil), []byte("authenticated")) {
		t.Fatalf("ken's warning:\n%s", bytes.Join(warned, []byte("\n----\n")))
	}
	if code := s.shutdown(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
}
