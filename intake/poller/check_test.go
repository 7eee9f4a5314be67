package poller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// step returns the named step of a report, failing the test when absent.
func step(t *testing.T, r Report, name string) CheckStep {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("report has no %s step: %+v", name, r.Steps)
	return CheckStep{}
}

func reportText(r Report) string {
	var b strings.Builder
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%s %s: %s\n", s.Name, s.Result, s.Detail)
	}
	return b.String()
}

func TestCheckMailbox(t *testing.T) {
	t.Parallel()
	srv := startMem(t, memOptions{caps: capsRev2, folders: []string{"Archive"}})
	pr := srv.peer(t)
	for i := 1; i <= 3; i++ {
		pr.appendMail("INBOX", mailNo("check", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("good", func(t *testing.T) {
		box := srv.box("help")
		box.After, box.MoveTo = AfterMove, "Processed"
		r := Check(ctx, box)
		if !r.OK() {
			t.Fatalf("a working mailbox fails the check:\n%s", reportText(r))
		}
		if r.Messages != 3 || r.Unseen != 3 || r.UIDValidity == 0 {
			t.Errorf("folder: %d messages, %d unseen, UIDVALIDITY %d; want 3, 3, non-zero", r.Messages, r.Unseen, r.UIDValidity)
		}
		if s := step(t, r, "login"); s.Result != CheckOK || !strings.Contains(s.Detail, imapUser) {
			t.Errorf("login step: %+v", s)
		}
		if s := step(t, r, "capabilities"); s.Result != CheckOK || !strings.Contains(s.Detail, "IDLE") ||
			!strings.Contains(s.Detail, "MOVE") || !strings.Contains(s.Detail, "UIDPLUS") {
			t.Errorf("capabilities step: %+v", s)
		}
		if s := step(t, r, "move_to"); !strings.Contains(s.Detail, "creates it") {
			t.Errorf("move_to step: %+v", s)
		}
		// Nothing was read or flagged: the poller still finds three unseen.
		if again := Check(ctx, box); again.Unseen != 3 {
			t.Errorf("the check changed the folder: %d unseen", again.Unseen)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		box := srv.box("help")
		box.Password = "wrong-Kq4-secret"
		r := Check(ctx, box)
		text := reportText(r)
		if r.OK() {
			t.Fatalf("a wrong password passes:\n%s", text)
		}
		if s := step(t, r, "login"); s.Result != CheckFailed || !strings.Contains(s.Detail, "refused user "+imapUser) {
			t.Errorf("login step: %+v", s)
		}
		if s := step(t, r, "connect"); s.Result != CheckOK {
			t.Errorf("connect step: %+v", s)
		}
		if s := step(t, r, "folder"); s.Result != CheckSkipped {
			t.Errorf("folder step after a failed login: %+v", s)
		}
		if strings.Contains(text, box.Password) {
			t.Errorf("the report shows the password:\n%s", text)
		}
	})

	t.Run("missing folder", func(t *testing.T) {
		box := srv.box("help")
		box.Folder = "Support"
		r := Check(ctx, box)
		if r.OK() {
			t.Fatalf("a missing folder passes:\n%s", reportText(r))
		}
		s := step(t, r, "folder")
		if s.Result != CheckFailed || !strings.Contains(s.Detail, "Support does not exist") ||
			!strings.Contains(s.Detail, "Archive, INBOX") {
			t.Errorf("folder step: %+v", s)
		}
	})

	t.Run("nothing listening", func(t *testing.T) {
		box := srv.box("help")
		box.Port = closedPort(t)
		r := Check(ctx, box)
		if r.OK() {
			t.Fatal("a closed port passes")
		}
		if s := step(t, r, "connect"); s.Result != CheckFailed || !strings.Contains(s.Detail, "connection refused") {
			t.Errorf("connect step: %+v", s)
		}
		if s := step(t, r, "login"); s.Result != CheckSkipped {
			t.Errorf("login step: %+v", s)
		}
	})

	t.Run("unknown host", func(t *testing.T) {
		box := srv.box("help")
		box.Host, box.TLS = "no-such-host.invalid", TLSImplicit
		r := Check(ctx, box)
		if s := step(t, r, "resolve"); r.OK() || s.Result != CheckFailed || !strings.Contains(s.Detail, "no-such-host.invalid") {
			t.Errorf("resolve step: %+v", s)
		}
	})

	t.Run("plain text to a remote host", func(t *testing.T) {
		box := srv.box("help")
		box.Host = "imap.example.com"
		r := Check(ctx, box)
		if s := step(t, r, "settings"); r.OK() || !strings.Contains(s.Detail, "clear") {
			t.Errorf("settings step: %+v", s)
		}
	})
}

// An IMAP4rev1 server without MOVE and UIDPLUS works, with a warning that
// says what is lost; a server that does not offer XOAUTH2 fails an xoauth2 mailbox.
func TestCheckCapabilityWarnings(t *testing.T) {
	t.Parallel()
	srv := startMem(t, memOptions{caps: capsRev1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	box := srv.box("help")
	box.After, box.MoveTo = AfterMove, "Done"
	r := Check(ctx, box)
	if !r.OK() {
		t.Fatalf("an IMAP4rev1 server fails:\n%s", reportText(r))
	}
	s := step(t, r, "capabilities")
	if s.Result != CheckWarning || !strings.Contains(s.Detail, "neither MOVE nor UIDPLUS") {
		t.Errorf("capabilities step: %+v", s)
	}

	box = srv.box("help")
	box.Auth, box.TokenFile, box.Password = AuthXOAUTH2, "/nonexistent/token", ""
	r = Check(ctx, box)
	if s := step(t, r, "capabilities"); r.OK() || s.Result != CheckFailed || !strings.Contains(s.Detail, "XOAUTH2") {
		t.Errorf("xoauth2 against a server without it: %+v", s)
	}
}
