package poller

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/postdesk/postdesk/intake"
)

// Item 1 of the checklist: a backlog becomes tickets, with every way of
// marking mail done that the server's capabilities allow.
func TestBacklogBecomesTickets(t *testing.T) {
	cases := []struct {
		name     string
		caps     imap.CapSet
		after    string
		expunges bool
	}{
		{"IMAP4rev2 seen", capsRev2, AfterSeen, true},
		{"IMAP4rev2 move", capsRev2, AfterMove, true},  // UID MOVE
		{"UIDPLUS move", capsUIDPlus, AfterMove, true}, // UID COPY + \Deleted + UID EXPUNGE
		{"IMAP4rev1 seen", capsRev1, AfterSeen, false},
		{"IMAP4rev1 move", capsRev1, AfterMove, false}, // UID COPY + \Deleted, no EXPUNGE
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			backlogScenario(t, startMem(t, memOptions{caps: c.caps}), "INBOX", c.after, c.expunges)
		})
	}
}

func TestIDLEDeliversWithinSeconds(t *testing.T) {
	for _, c := range []struct {
		name string
		caps imap.CapSet
	}{{"IMAP4rev2", capsRev2}, {"IMAP4rev1+IDLE", capsRev1}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			idleScenario(t, startMem(t, memOptions{caps: c.caps}), "INBOX")
		})
	}
}

func TestUIDValidityChange(t *testing.T) {
	t.Parallel()
	uidValidityScenario(t, startMem(t, memOptions{caps: capsRev2}), "Support")
}

// A mailbox whose password is wrong keeps failing and retrying, while the
// other mailbox of the same poller works; no password reaches the log.
func TestFailingMailboxDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	log, logs := testLog(t)
	srv := startMem(t, memOptions{caps: capsRev2})
	pr := srv.peer(t)
	for i := 1; i <= 5; i++ {
		pr.appendMail("INBOX", mailNo("good", i))
	}
	good := srv.box("imap-help")
	good.ID = db.ids["imap-help"]
	bad := srv.box("imap-other")
	bad.ID, bad.Password = db.ids["imap-other"], "wrong-pw-9Xk"
	// An unreachable server fails too, without holding up the others.
	down := Mailbox{Name: "down", Host: "127.0.0.1", Port: closedPort(t), TLS: TLSNone, Username: "x", Password: "y"}

	r := start(t, db.pool, processor(t, db.pool, log), log, bad, down, good)
	eventually(t, 10*time.Second, "the good mailbox's mails are tickets", func() bool {
		return db.tickets(t, "imap-help") == 5
	})
	eventually(t, 5*time.Second, "the bad mailbox retried", func() bool {
		n := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `msg="mailbox poll failed`) && strings.Contains(line, "mailbox=imap-other") {
				n++
			}
		}
		return n >= 3
	})
	st := r.status("imap-other")
	if st.State != StateError || !strings.Contains(st.LastError, "login") {
		t.Errorf("bad mailbox status = %+v, want state error with the login failure", st)
	}
	if st := r.status("down"); st.State != StateError || st.LastError == "" {
		t.Errorf("unreachable mailbox status = %+v, want state error", st)
	}
	if st := r.status("imap-help"); st.LastError != "" || !st.Active {
		t.Errorf("good mailbox status = %+v, want active without error", st)
	}
	r.stop()
	if got := db.tickets(t, "imap-other"); got != 0 {
		t.Errorf("bad mailbox made %d tickets", got)
	}
	for _, secret := range []string{imapPass, bad.Password} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a password")
		}
	}
}

// Stopping the poller while it commits a message finishes that message
// (committed, flagged, UID stored) and leaves the rest for later.
func TestShutdownFinishesCurrentMessage(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	log, _ := testLog(t)
	srv := startMem(t, memOptions{caps: capsRev2})
	pr := srv.peer(t)
	var uids []uint32
	for i := 1; i <= 3; i++ {
		uids = append(uids, pr.appendMail("INBOX", mailNo("stop", i)))
	}
	box := srv.box("imap-help")
	box.ID = db.ids["imap-help"]
	ctx, cancel := context.WithCancel(context.Background())
	stopper := &hook{d: processor(t, db.pool, log), before: func() { cancel() }}
	r := startCtx(t, ctx, cancel, db.pool, stopper, log, box)
	<-r.done

	if got := db.tickets(t, "imap-help"); got != 1 {
		t.Errorf("tickets = %d, want 1", got)
	}
	if _, last, _ := db.state(t, "imap-help"); last != uids[0] {
		t.Errorf("stored last UID = %d, want %d", last, uids[0])
	}
	inbox := pr.list("INBOX")
	for i, uid := range uids {
		if m := find(inbox, uid); m == nil || hasFlag(m.flags, `\Seen`) != (i == 0) {
			t.Errorf("uid %d = %+v, want seen only for the first", uid, m)
		}
	}
}

// failing is a Deliverer that fails for mails containing match while
// broken is set, as a Processor bug would, with the database up.
type failing struct {
	d      Deliverer
	match  string
	broken atomic.Bool
}

func (f *failing) Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error) {
	if f.broken.Load() && bytes.Contains(raw, []byte(f.match)) {
		return intake.Result{}, fmt.Errorf("%w: cannot store this one", intake.ErrTemporary)
	}
	return f.d.Deliver(ctx, env, raw)
}

// A message that cannot be committed while the database is up stays unseen
// and is tried again, and the mails after it, old and new, go on; once it
// can be committed the stored last UID moves past all of them.
func TestBadMessageDoesNotStopMailbox(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	log, _ := testLog(t)
	srv := startMem(t, memOptions{caps: capsRev2})
	pr := srv.peer(t)
	var uids []uint32
	for i := 1; i <= 4; i++ {
		uids = append(uids, pr.appendMail("INBOX", mailNo("poison", i)))
	}
	f := &failing{match: "<poison-2@"}
	f.broken.Store(true)
	cd := &counting{d: processor(t, db.pool, log)}
	f.d = cd
	box := srv.box("imap-help")
	box.ID = db.ids["imap-help"]
	r := start(t, db.pool, f, log, box)

	eventually(t, 10*time.Second, "the other mails are tickets", func() bool {
		return db.tickets(t, "imap-help") == 3
	})
	eventually(t, 5*time.Second, "the failure is reported", func() bool {
		st := r.status("imap-help")
		return strings.Contains(st.LastError, "uid 2 not committed") && st.Backlog == 1
	})
	if _, last, _ := db.state(t, "imap-help"); last != uids[0] {
		t.Errorf("stored last UID = %d, want %d (below the failed message)", last, uids[0])
	}
	msgs := pr.list("INBOX")
	for i, uid := range uids {
		if m := find(msgs, uid); m == nil || hasFlag(m.flags, `\Seen`) == (i == 1) {
			t.Errorf("uid %d = %+v, want seen unless it is the failed one", uid, m)
		}
	}
	pr.appendMail("INBOX", mailNo("poison", 5))
	eventually(t, 5*time.Second, "new mail still becomes a ticket", func() bool {
		return db.tickets(t, "imap-help") == 4
	})

	f.broken.Store(false)
	eventually(t, 10*time.Second, "the failed message is committed on a later try", func() bool {
		_, last, _ := db.state(t, "imap-help")
		return last == uids[3]+1 && r.status("imap-help").LastError == ""
	})
	r.stop()
	if got := db.tickets(t, "imap-help"); got != 5 {
		t.Errorf("tickets = %d, want 5", got)
	}
	if calls, fails, dup := cd.counts(); calls != 5 || fails != 0 || dup != 0 {
		t.Errorf("%d deliveries reached the Processor (%d failed, %d duplicates), want 5, 0, 0", calls, fails, dup)
	}
	if seen, all := pr.countFlagged("INBOX", `\Seen`); seen != 5 || all != 5 {
		t.Errorf("%d of %d seen, want 5 of 5", seen, all)
	}
}

// The same with the real Processor and a mail it may fail to store (a NUL
// byte in the text, as quoted-printable =00 gives): whatever becomes of that
// mail, the others are tickets, and it is flagged only if it was committed.
func TestMailWithNULDoesNotStopMailbox(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	log, _ := testLog(t)
	srv := startMem(t, memOptions{caps: capsRev2})
	pr := srv.peer(t)
	nul := []byte("From: Scanner <scanner@customer.example>\r\nTo: help@bank.example\r\nSubject: scan\r\n" +
		"Message-ID: <scan-nul@customer.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"page=001=00\r\n")
	pr.appendMail("INBOX", mailNo("nul", 1))
	nulUID := pr.appendMail("INBOX", nul)
	pr.appendMail("INBOX", mailNo("nul", 3))
	box := srv.box("imap-help")
	box.ID = db.ids["imap-help"]
	r := start(t, db.pool, processor(t, db.pool, log), log, box)
	eventually(t, 10*time.Second, "the other mails are tickets", func() bool {
		rows, _ := db.inbound(t, "imap-help")
		return db.tickets(t, "imap-help") >= 2 && rows >= 2 && r.status("imap-help").State == StateIdle
	})
	r.stop()
	var stored bool
	if err := db.pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM inbound_mails
		WHERE message_id = 'scan-nul@customer.example')`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	m := find(pr.list("INBOX"), nulUID)
	if m == nil || hasFlag(m.flags, `\Seen`) != stored {
		t.Errorf("the mail with NUL: stored %v, on the server %+v; want seen exactly when stored", stored, m)
	}
	t.Logf("the mail with a NUL byte was stored: %v", stored)
}
