package poller

import (
	"bytes"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// The scenarios run against every server the tests have: go-imap's
// in-memory server with several capability sets, and Dovecot. Each uses its
// own folder (created unless it is INBOX) and its own database.

func (p *peer) createFolder(name string) {
	p.t.Helper()
	if name == "INBOX" {
		return
	}
	if err := p.c.Create(name, nil).Wait(); err != nil {
		p.t.Fatalf("create %s: %v", name, err)
	}
}

// backlogScenario: a backlog becomes one ticket per mail, in UID order; each
// message is marked done on the server; the stored raw mail is what the
// server holds; the last UID is kept. A message a person deleted before (and
// an earlier run committed) is never touched. expunges says whether the
// server can remove a single moved message (MOVE or UIDPLUS).
func backlogScenario(t *testing.T, srv *testServer, folder, after string, expunges bool) {
	const n = 20
	db := newTestDB(t)
	log, _ := testLog(t)
	pr := srv.peer(t)
	pr.createFolder(folder)
	moveTo := folder + "-done"

	old := pr.appendMail(folder, mailNo(folder+"-old", 0), imap.FlagDeleted)
	validity := pr.uidValidity(folder)
	db.setState(t, "imap-help", validity, old)
	sent := map[uint32][]byte{}
	var lastUID uint32
	for i := 1; i <= n; i++ {
		raw := mailNo(folder, i)
		lastUID = pr.appendMail(folder, raw)
		sent[lastUID] = raw
	}

	box := srv.box("imap-help")
	box.ID, box.Folder, box.After, box.MoveTo = db.ids["imap-help"], folder, after, moveTo
	r := start(t, db.pool, processor(t, db.pool, log), log, box)
	eventually(t, 20*time.Second, "the last UID is stored and the poll complete", func() bool {
		_, last, _ := db.state(t, "imap-help")
		return last == lastUID && r.status("imap-help").State == StateIdle
	})
	if st := r.status("imap-help"); !st.Active || st.LastError != "" || st.LastPoll.IsZero() || st.Backlog != 0 {
		t.Errorf("status = %+v, want active, polled, no error, no backlog", st)
	}
	r.stop()

	if got := db.tickets(t, "imap-help"); got != n {
		t.Errorf("tickets = %d, want %d", got, n)
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, subjectNo(folder, i))
	}
	if got := db.subjects(t, "imap-help"); !slices.Equal(got, want) {
		t.Errorf("ticket subjects = %q, want %q (in UID order)", got, want)
	}
	checkStored(t, db, validity, sent)
	v, last, polled := db.state(t, "imap-help")
	if v != validity || last != lastUID || !polled {
		t.Errorf("stored state = (%d, %d, polled %v), want (%d, %d, true)", v, last, polled, validity, lastUID)
	}
	// What the metrics show as the mailbox's last complete poll, by any
	// replica: this poll, and no mailbox that is not polled over IMAP.
	polls, err := LastPolls(context.Background(), db.pool)
	if err != nil {
		t.Fatal(err)
	}
	for name := range polls {
		if !strings.HasPrefix(name, "imap-") {
			t.Errorf("last polls list %q, which is not an IMAP mailbox", name)
		}
	}
	if at := polls["imap-help"]; at.IsZero() {
		t.Errorf("last poll of imap-help = %v, want the poll just made", at)
	}

	msgs := pr.list(folder)
	if m := find(msgs, old); m == nil || !hasFlag(m.flags, `\Deleted`) || hasFlag(m.flags, `\Seen`) {
		t.Errorf("the message deleted by a person = %+v, want it untouched: still there, \\Deleted, unseen", m)
	}
	switch {
	case after == AfterSeen:
		if len(msgs) != n+1 {
			t.Errorf("%s has %d messages, want %d", folder, len(msgs), n+1)
		}
		for uid := range sent {
			if m := find(msgs, uid); m == nil || !hasFlag(m.flags, `\Seen`) || hasFlag(m.flags, `\Deleted`) {
				t.Errorf("uid %d = %+v, want \\Seen only", uid, m)
			}
		}
	case expunges:
		if len(msgs) != 1 {
			t.Errorf("%s has %d messages, want only the one a person deleted", folder, len(msgs))
		}
	default:
		// Without UIDPLUS nothing is expunged: the moved messages stay
		// behind, \Deleted and \Seen, for the mail client to expunge.
		if len(msgs) != n+1 {
			t.Errorf("%s has %d messages, want %d (no EXPUNGE without UIDPLUS)", folder, len(msgs), n+1)
		}
		for uid := range sent {
			if m := find(msgs, uid); m == nil || !hasFlag(m.flags, `\Seen`) || !hasFlag(m.flags, `\Deleted`) {
				t.Errorf("uid %d = %+v, want \\Seen \\Deleted", uid, m)
			}
		}
	}
	if after == AfterMove {
		moved := pr.list(moveTo)
		if len(moved) != n {
			t.Errorf("%s has %d messages, want %d", moveTo, len(moved), n)
		}
		for _, m := range moved {
			if !hasFlag(m.flags, `\Seen`) || hasFlag(m.flags, `\Deleted`) {
				t.Errorf("moved message %d has flags %v, want \\Seen only", m.uid, m.flags)
			}
		}
	}
}

// checkStored compares the stored mails with what the server held.
func checkStored(t *testing.T, db *testDB, validity uint32, sent map[uint32][]byte) {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `SELECT imap_uidvalidity, imap_uid, raw, outcome
		FROM inbound_mails WHERE mailbox_id = $1 AND transport = 'imap'`, db.ids["imap-help"])
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var v, uid int64
		var raw []byte
		var outcome string
		if err := rows.Scan(&v, &uid, &raw, &outcome); err != nil {
			t.Fatal(err)
		}
		got++
		want, ok := sent[uint32(uid)]
		switch {
		case !ok:
			t.Errorf("stored a mail with uid %d, which was not sent", uid)
		case uint32(v) != validity:
			t.Errorf("uid %d stored with UIDVALIDITY %d, want %d", uid, v, validity)
		case !bytes.Equal(raw, want):
			t.Errorf("uid %d stored %d bytes that differ from the %d sent", uid, len(raw), len(want))
		case outcome != "new_ticket":
			t.Errorf("uid %d outcome %s, want new_ticket", uid, outcome)
		}
	}
	if got != len(sent) {
		t.Errorf("stored %d mails, want %d", got, len(sent))
	}
}

func find(msgs []message, uid uint32) *message {
	for i := range msgs {
		if msgs[i].uid == uid {
			return &msgs[i]
		}
	}
	return nil
}

// idleScenario: with IDLE a new mail becomes a ticket within 5 s, though
// the poll interval is an hour.
func idleScenario(t *testing.T, srv *testServer, folder string) {
	db := newTestDB(t)
	log, _ := testLog(t)
	pr := srv.peer(t)
	pr.createFolder(folder)
	box := srv.box("imap-help")
	box.ID, box.Folder, box.PollInterval, box.IDLE = db.ids["imap-help"], folder, time.Hour, true
	r := start(t, db.pool, processor(t, db.pool, log), log, box)
	for i := 1; i <= 3; i++ {
		// The mail arrives while the poller idles. (imapmemserver only
		// announces mail queued before IDLE began after the next command,
		// so a mail landing mid-poll waits for the poll interval there;
		// Dovecot announces it at once.)
		eventually(t, 10*time.Second, "the poller idles again", func() bool {
			return r.status("imap-help").State == StateIdle
		})
		sent := time.Now()
		pr.appendMail(folder, mailNo(folder, i))
		eventually(t, 5*time.Second, "the new mail is a ticket", func() bool {
			return db.tickets(t, "imap-help") == i
		})
		t.Logf("mail %d became a ticket %v after APPEND", i, time.Since(sent).Round(time.Millisecond))
	}
}

// outageScenario: while PostgreSQL is unreachable no message is flagged and
// no ticket exists; once it is back every mail becomes one ticket and is
// flagged. With whole, the poller's own database session (the lock) goes
// down too; otherwise only the Processor's commits fail.
func outageScenario(t *testing.T, srv *testServer, folder string, whole bool) {
	db := newTestDB(t)
	log, _ := testLog(t)
	px := startProxy(t, dbAddr(t))
	viaProxy := openPool(t, db.url, px.Addr())
	pollerPool := db.pool
	if whole {
		pollerPool = viaProxy
	}
	cd := &counting{d: processor(t, viaProxy, log)}
	pr := srv.peer(t)
	pr.createFolder(folder)
	box := srv.box("imap-help")
	box.ID, box.Folder = db.ids["imap-help"], folder
	r := start(t, pollerPool, cd, log, box)
	eventually(t, 10*time.Second, "the poller idles", func() bool {
		return r.status("imap-help").State == StateIdle
	})

	px.Cut()
	var lastUID uint32
	for i := 1; i <= 5; i++ {
		lastUID = pr.appendMail(folder, mailNo(folder, i))
	}
	eventually(t, 10*time.Second, "the poller notices the outage", func() bool {
		return r.status("imap-help").LastError != ""
	})
	if !whole {
		eventually(t, 10*time.Second, "commits were tried and failed", func() bool {
			_, fails, _ := cd.counts()
			return fails >= 2
		})
	}
	time.Sleep(300 * time.Millisecond) // a few more attempts
	if got := db.tickets(t, "imap-help"); got != 0 {
		t.Fatalf("tickets during the outage = %d, want 0", got)
	}
	if seen, all := pr.countFlagged(folder, `\Seen`); seen != 0 || all != 5 {
		t.Fatalf("during the outage %d of %d messages are seen, want 0 of 5", seen, all)
	}

	px.Restore()
	eventually(t, 15*time.Second, "all mails are committed and flagged", func() bool {
		_, last, _ := db.state(t, "imap-help")
		return last == lastUID
	})
	if got := db.tickets(t, "imap-help"); got != 5 {
		t.Errorf("tickets = %d, want 5", got)
	}
	if rows, distinct := db.inbound(t, "imap-help"); rows != 5 || distinct != 5 {
		t.Errorf("stored mails = %d (%d distinct), want 5", rows, distinct)
	}
	if seen, all := pr.countFlagged(folder, `\Seen`); seen != 5 || all != 5 {
		t.Errorf("%d of %d messages seen, want 5 of 5", seen, all)
	}
	if _, _, dup := cd.counts(); dup != 0 {
		t.Errorf("%d deliveries were duplicates: a failed commit must not have committed", dup)
	}
}

// crashScenario: a crash between the commit and the flag makes no
// duplicate. Right after the first commit the IMAP connection dies and the
// process stops; a new poller reads the message again, intake recognises
// it, and it is flagged.
func crashScenario(t *testing.T, srv *testServer, folder string) {
	db := newTestDB(t)
	log, _ := testLog(t)
	pr := srv.peer(t)
	pr.createFolder(folder)
	var uids []uint32
	for i := 1; i <= 3; i++ {
		uids = append(uids, pr.appendMail(folder, mailNo(folder, i)))
	}
	imapPx := startProxy(t, srv.addr())
	box := srv.box("imap-help")
	box.ID, box.Folder = db.ids["imap-help"], folder
	host, port, _ := net.SplitHostPort(imapPx.Addr())
	box.Host = host
	box.Port, _ = strconv.Atoi(port)
	proc := processor(t, db.pool, log)

	ctx, cancel := context.WithCancel(context.Background())
	crash := &hook{d: proc, after: func() {
		imapPx.Cut()
		cancel()
	}}
	r := startCtx(t, ctx, cancel, db.pool, crash, log, box)
	<-r.done

	if got := db.tickets(t, "imap-help"); got != 1 {
		t.Fatalf("tickets after the crash = %d, want 1 (the commit happened)", got)
	}
	if seen, _ := pr.countFlagged(folder, `\Seen`); seen != 0 {
		t.Fatalf("%d messages seen after the crash, want 0 (no flag after a lost connection)", seen)
	}
	if _, last, _ := db.state(t, "imap-help"); last != 0 {
		t.Fatalf("stored last UID = %d, want 0 (the message was not flagged)", last)
	}

	imapPx.Restore()
	cd := &counting{d: proc}
	r = start(t, db.pool, cd, log, box)
	eventually(t, 10*time.Second, "the restarted poller commits the rest", func() bool {
		_, last, _ := db.state(t, "imap-help")
		return last == uids[2]
	})
	r.stop()
	if got := db.tickets(t, "imap-help"); got != 3 {
		t.Errorf("tickets = %d, want 3", got)
	}
	if rows, distinct := db.inbound(t, "imap-help"); rows != 3 || distinct != 3 {
		t.Errorf("stored mails = %d (%d distinct), want 3", rows, distinct)
	}
	if calls, _, dup := cd.counts(); calls != 3 || dup != 1 {
		t.Errorf("after restart %d deliveries with %d duplicates, want 3 with 1", calls, dup)
	}
	if seen, all := pr.countFlagged(folder, `\Seen`); seen != 3 || all != 3 {
		t.Errorf("%d of %d seen, want 3 of 3", seen, all)
	}
}

// uidValidityScenario: a new UIDVALIDITY (the folder was deleted and
// re-created) makes the poller read the folder again: the mails committed
// before are recognised, the new one becomes a ticket, and the new value
// is stored.
func uidValidityScenario(t *testing.T, srv *testServer, folder string) {
	db := newTestDB(t)
	log, _ := testLog(t)
	pr := srv.peer(t)
	pr.createFolder(folder)
	box := srv.box("imap-help")
	box.ID, box.Folder = db.ids["imap-help"], folder
	proc := processor(t, db.pool, log)

	var lastUID uint32
	for i := 1; i <= 3; i++ {
		lastUID = pr.appendMail(folder, mailNo(folder, i))
	}
	r := start(t, db.pool, proc, log, box)
	eventually(t, 10*time.Second, "3 mails are committed", func() bool {
		_, last, _ := db.state(t, "imap-help")
		return last == lastUID
	})
	r.stop()
	before, _, _ := db.state(t, "imap-help")

	for after := before; after == before; after = pr.uidValidity(folder) {
		// Dovecot derives UIDVALIDITY from the clock: re-create until it differs.
		if err := pr.c.Delete(folder).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := pr.c.Create(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 4; i++ {
		lastUID = pr.appendMail(folder, mailNo(folder, i))
	}
	after := pr.uidValidity(folder)
	cd := &counting{d: proc}
	r = start(t, db.pool, cd, log, box)
	eventually(t, 10*time.Second, "the re-created folder is read", func() bool {
		v, last, _ := db.state(t, "imap-help")
		return v == after && last == lastUID
	})
	r.stop()

	if got := db.tickets(t, "imap-help"); got != 4 {
		t.Errorf("tickets = %d, want 4 (3 before, 1 new)", got)
	}
	if rows, distinct := db.inbound(t, "imap-help"); rows != 4 || distinct != 4 {
		t.Errorf("stored mails = %d (%d distinct), want 4", rows, distinct)
	}
	if calls, fails, dup := cd.counts(); calls != 4 || fails != 0 || dup != 3 {
		t.Errorf("after the change: %d deliveries, %d failed, %d duplicates; want 4, 0, 3", calls, fails, dup)
	}
	if seen, all := pr.countFlagged(folder, `\Seen`); seen != 4 || all != 4 {
		t.Errorf("%d of %d messages seen, want 4 of 4", seen, all)
	}
}
