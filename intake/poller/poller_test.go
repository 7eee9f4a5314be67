package poller

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/intake"
)

type nopDeliverer struct{}

func (nopDeliverer) Deliver(context.Context, intake.Envelope, []byte) (intake.Result, error) {
	return intake.Result{}, nil
}

// New refuses settings that cannot work or would send a password in the
// clear, and fills the defaults.
func TestNewChecksMailboxes(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	base := Mailbox{Name: "m", Host: "imap.example.com", Port: 993, Username: "u", Password: "p"}
	with := func(f func(*Mailbox)) Mailbox { m := base; f(&m); return m }
	bad := []struct {
		name  string
		boxes []Mailbox
		want  string
	}{
		{"plain to a remote host", []Mailbox{with(func(m *Mailbox) { m.TLS = TLSNone })}, "in the clear"},
		{"no host", []Mailbox{with(func(m *Mailbox) { m.Host = "" })}, "host and port"},
		{"bad port", []Mailbox{with(func(m *Mailbox) { m.Port = 70000 })}, "host and port"},
		{"unknown TLS", []Mailbox{with(func(m *Mailbox) { m.TLS = "ssl" })}, "TLS mode"},
		{"unknown auth", []Mailbox{with(func(m *Mailbox) { m.Auth = "cram-md5" })}, "authentication"},
		{"xoauth2 without token", []Mailbox{with(func(m *Mailbox) { m.Auth = AuthXOAUTH2 })}, "token"},
		{"xoauth2 with both", []Mailbox{with(func(m *Mailbox) {
			m.Auth, m.TokenCommand, m.TokenFile = AuthXOAUTH2, "x", "/y"
		})}, "token"},
		{"move without folder", []Mailbox{with(func(m *Mailbox) { m.After = AfterMove })}, "moving"},
		{"move to itself", []Mailbox{with(func(m *Mailbox) { m.After, m.MoveTo = AfterMove, "inbox" })}, "moving"},
		{"unknown after", []Mailbox{with(func(m *Mailbox) { m.After = "delete" })}, "after fetch"},
		{"no user", []Mailbox{with(func(m *Mailbox) { m.Username = "" })}, "username"},
		{"no name", []Mailbox{with(func(m *Mailbox) { m.Name = "" })}, "no name"},
		{"twice", []Mailbox{base, base}, "twice"},
	}
	for _, c := range bad {
		if _, err := New(pool, nopDeliverer{}, c.boxes, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.want)
		}
	}

	good := []Mailbox{
		base,
		with(func(m *Mailbox) { m.Name, m.Host, m.TLS = "loop4", "127.0.0.1", TLSNone }),
		with(func(m *Mailbox) { m.Name, m.Host, m.TLS = "loop6", "::1", TLSNone }),
		with(func(m *Mailbox) { m.Name, m.Host, m.TLS = "localhost", "localhost", TLSNone }),
		with(func(m *Mailbox) { m.Name, m.TLS, m.AllowInsecure = "allowed", TLSNone, true }),
	}
	p, err := New(pool, nopDeliverer{}, good, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m := p.boxes[0]
	if m.TLS != TLSImplicit || m.Auth != AuthLogin || m.Folder != "INBOX" || m.After != AfterSeen ||
		m.PollInterval != DefaultPollInterval {
		t.Errorf("defaults = %+v", m)
	}
	st := p.Status()
	if len(st) != len(good) || st[0].Name != "m" || st[0].State != StateStandby || st[0].Active {
		t.Errorf("initial status = %+v", st)
	}
}

// A Mailbox printed or logged whole shows no password.
func TestMailboxHidesPassword(t *testing.T) {
	m := Mailbox{Name: "m", Host: "h", Port: 993, Username: "u", Password: "hunter2-secret"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "box", m)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "box", m)
	for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%v %+v %#v %s", m, m, m, m), buf.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password printed: %s", s)
		}
	}
}

// The pause between reconnects doubles up to the cap, with jitter, and
// starts again after a success.
func TestBackoff(t *testing.T) {
	p := &Poller{t: timing{backoffMin: time.Second, backoffMax: 5 * time.Minute}}
	spread := func(d time.Duration) (lo, hi time.Duration) {
		return d * (100 - reconnectJitter) / 100, min(d*(100+reconnectJitter)/100, 5*time.Minute)
	}
	b := p.reconnectBackoff()
	step := time.Second
	for i := 0; i < 20; i++ {
		d, stop := b.Next()
		if lo, hi := spread(step); stop || d < lo || d > hi {
			t.Fatalf("step %d: %v (stop %v) outside [%v, %v]", i, d, stop, lo, hi)
		}
		step = min(2*step, 5*time.Minute)
	}
	if step != 5*time.Minute {
		t.Errorf("cap after 20 failures = %v, want 5m", step)
	}
	firsts := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		b = p.reconnectBackoff() // as session does after a poll
		d, _ := b.Next()
		if lo, hi := spread(time.Second); d < lo || d > hi {
			t.Fatalf("after reset: %v, want within [%v, %v]", d, lo, hi)
		}
		firsts[d] = true
	}
	if len(firsts) < 2 {
		t.Errorf("20 first pauses all %v: no jitter", firsts)
	}
}

// The token comes trimmed from the command's output or the file; problems
// name the source, never the token.
func TestReadToken(t *testing.T) {
	ctx := context.Background()
	if tok, err := readToken(ctx, Mailbox{TokenCommand: "printf '  abc.def \\n'"}); err != nil || tok != "abc.def" {
		t.Errorf("command token = %q, %v", tok, err)
	}
	for _, c := range []struct {
		box  Mailbox
		want string
	}{
		{Mailbox{TokenCommand: "true"}, "empty token"},
		{Mailbox{TokenCommand: "printf 'a\\nb'"}, "more than one line"},
		{Mailbox{TokenCommand: "echo oops >&2; exit 1"}, "oops"},
		{Mailbox{TokenFile: "/nonexistent/token"}, "token file"},
	} {
		if _, err := readToken(ctx, c.box); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.box, err, c.want)
		}
	}
}

// The XOAUTH2 initial response is the one Gmail and Microsoft document.
func TestXOAUTH2Response(t *testing.T) {
	mech, ir, err := newXOAUTH2("someone@example.com", "ya29.vF9dft4").Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=someone@example.com\x01auth=Bearer ya29.vF9dft4\x01\x01" {
		t.Errorf("Start = %q, %q, %v", mech, ir, err)
	}
	resp, err := newXOAUTH2("u", "t").Next([]byte(`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`))
	if err != nil || resp == nil || len(resp) != 0 {
		t.Errorf("Next(error JSON) = %q, %v; want an empty response", resp, err)
	}
}
