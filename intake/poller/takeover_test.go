package poller

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// Two processes poll one mailbox on one database: one is active, the other
// stands by; when the active one stops, or its database session dies, the
// other takes over, and every mail is still one ticket.
func TestOneActivePollerPerMailbox(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	srv := startMem(t, memOptions{caps: capsRev2})
	pr := srv.peer(t)
	box := srv.box("imap-help")
	box.ID = db.ids["imap-help"]

	// The watcher reads procs while the test replaces a stopped process.
	var procs [2]atomic.Pointer[running]
	for i := range procs {
		log, _ := testLog(t)
		pool := openPool(t, db.url, "") // each process has its own pool
		procs[i].Store(start(t, pool, processor(t, pool, log), log, box))
	}
	active := func() (n, which int) {
		for i := range procs {
			if procs[i].Load().status("imap-help").Active {
				n, which = n+1, i
			}
		}
		return n, which
	}
	// Watch the whole test: never two active at once.
	var both atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ctx.Err() == nil {
			if n, _ := active(); n > 1 {
				both.Store(true)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	sent := 0
	send := func(k int) {
		for i := 0; i < k; i++ {
			sent++
			pr.appendMail("INBOX", mailNo("takeover", sent))
		}
		eventually(t, 10*time.Second, "all mails are tickets", func() bool {
			return db.tickets(t, "imap-help") == sent
		})
	}

	eventually(t, 10*time.Second, "one poller is active", func() bool { n, _ := active(); return n == 1 })
	send(5)
	_, first := active()
	if st := procs[1-first].Load().status("imap-help"); st.State != StateStandby {
		t.Errorf("the other poller is %q, want standby", st.State)
	}

	// The active process stops: the other takes over.
	procs[first].Load().stop()
	eventually(t, 5*time.Second, "the other poller takes over", func() bool {
		n, which := active()
		return n == 1 && which == 1-first
	})
	send(5)

	// A restarted process stands by while the other is active.
	log, _ := testLog(t)
	pool := openPool(t, db.url, "")
	procs[first].Store(start(t, pool, processor(t, pool, log), log, box))
	time.Sleep(500 * time.Millisecond)
	if n, which := active(); n != 1 || which != 1-first {
		t.Errorf("after a restart %d pollers active (the %d.), want only the one that took over", n, which)
	}
	send(2)
	cancel()
	<-watched

	if both.Load() {
		t.Error("two pollers were active at the same time")
	}
	if rows, distinct := db.inbound(t, "imap-help"); rows != sent || distinct != sent {
		t.Errorf("stored mails = %d (%d distinct), want %d", rows, distinct, sent)
	}
	if seen, all := pr.countFlagged("INBOX", `\Seen`); seen != sent || all != sent {
		t.Errorf("%d of %d seen, want all %d", seen, all, sent)
	}
}

// When the active process's database session dies (the process was killed,
// or the network to PostgreSQL failed), the lock is freed and the other
// process takes over.
func TestTakeoverWhenLockSessionDies(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	srv := startMem(t, memOptions{caps: capsRev2})
	pr := srv.peer(t)
	box := srv.box("imap-help")
	box.ID = db.ids["imap-help"]
	var procs [2]*running
	for i := range procs {
		log, _ := testLog(t)
		pool := openPool(t, db.url, "")
		procs[i] = start(t, pool, processor(t, pool, log), log, box)
	}
	eventually(t, 10*time.Second, "one poller is active", func() bool {
		return procs[0].status("imap-help").Active != procs[1].status("imap-help").Active
	})
	var killed int
	err := db.pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = hashtext('postdesk.imap')::oid AND objid = $1::int::oid AND objsubid = 2`,
		box.ID).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d lock sessions (%v), want 1", killed, err)
	}
	eventually(t, 5*time.Second, "exactly one poller is active again", func() bool {
		a, b := procs[0].status("imap-help").Active, procs[1].status("imap-help").Active
		return a != b
	})
	for i := 1; i <= 3; i++ {
		pr.appendMail("INBOX", mailNo("killed", i))
	}
	eventually(t, 10*time.Second, "the mails are tickets", func() bool {
		return db.tickets(t, "imap-help") == 3
	})
	if rows, distinct := db.inbound(t, "imap-help"); rows != 3 || distinct != 3 {
		t.Errorf("stored mails = %d (%d distinct), want 3", rows, distinct)
	}
}
