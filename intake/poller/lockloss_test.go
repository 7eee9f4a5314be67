package poller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/postdesk/postdesk/intake"
)

// imapRecorder numbers, in the order the IMAP server receives them, the
// commands that read or change mail, with the poller that sent each: a
// poller logs in as imapUser+"+"+its name. The moments a poller takes the
// lock are numbered in the same sequence.
type imapRecorder struct {
	mu  sync.Mutex
	seq int
	ops []imapOp
}

type imapOp struct {
	seq      int
	who, cmd string
}

func (r *imapRecorder) record(who, cmd string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	r.ops = append(r.ops, imapOp{seq: r.seq, who: who, cmd: cmd})
}

// took numbers the moments a poller takes the lock.
func (r *imapRecorder) took(who string) { r.record(who, "took the lock") }

// lastTook is the number of the last moment who took the lock.
func (r *imapRecorder) lastTook(who string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, op := range r.ops {
		if op.who == who && op.cmd == "took the lock" {
			n = op.seq
		}
	}
	return n
}

// after lists the commands who sent after the moment mark.
func (r *imapRecorder) after(who string, mark int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, op := range r.ops {
		if op.who == who && op.seq > mark && op.cmd != "took the lock" {
			out = append(out, fmt.Sprintf("#%d %s", op.seq, op.cmd))
		}
	}
	return out
}

// recordingSession is the in-memory server's session for one user, as
// imapmemserver's own, recording every FETCH, STORE, COPY, MOVE and EXPUNGE.
type recordingSession struct {
	*imapmemserver.UserSession // nil until logged in
	user                       *imapmemserver.User
	rec                        *imapRecorder
	who                        string
}

var _ imapserver.SessionIMAP4rev2 = (*recordingSession)(nil)

func (s *recordingSession) Login(username, password string) error {
	name, who, _ := strings.Cut(username, "+")
	if err := s.user.Login(name, password); err != nil {
		return err
	}
	s.UserSession, s.who = imapmemserver.NewUserSession(s.user), who
	return nil
}

func (s *recordingSession) Fetch(w *imapserver.FetchWriter, set imap.NumSet, o *imap.FetchOptions) error {
	s.rec.record(s.who, "FETCH "+set.String())
	return s.UserSession.Fetch(w, set, o)
}

func (s *recordingSession) Store(w *imapserver.FetchWriter, set imap.NumSet, f *imap.StoreFlags,
	o *imap.StoreOptions) error {
	s.rec.record(s.who, "STORE "+set.String())
	return s.UserSession.Store(w, set, f, o)
}

func (s *recordingSession) Copy(set imap.NumSet, dest string) (*imap.CopyData, error) {
	s.rec.record(s.who, "COPY "+set.String())
	return s.UserSession.Copy(set, dest)
}

func (s *recordingSession) Move(w *imapserver.MoveWriter, set imap.NumSet, dest string) error {
	s.rec.record(s.who, "MOVE "+set.String())
	return s.UserSession.Move(w, set, dest)
}

func (s *recordingSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	s.rec.record(s.who, "EXPUNGE")
	return s.UserSession.Expunge(w, uids)
}

// gate holds the first delivery after arm until release, as a slow commit
// would.
type gate struct {
	d       Deliverer
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	open    chan struct{}
}

func newGate(d Deliverer) *gate {
	return &gate{d: d, entered: make(chan struct{}), open: make(chan struct{})}
}

func (g *gate) arm() { g.mu.Lock(); g.armed = true; g.mu.Unlock() }

func (g *gate) release() { close(g.open) }

func (g *gate) Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error) {
	g.mu.Lock()
	hold := g.armed
	g.armed = false
	g.mu.Unlock()
	if hold {
		close(g.entered)
		<-g.open
	}
	return g.d.Deliver(ctx, env, raw)
}

// lockPair is two processes polling one mailbox of one IMAP server that
// records their commands; a is started first and so holds the lock.
type lockPair struct {
	db    *testDB
	rec   *imapRecorder
	pr    *peer
	boxID int64
	a, b  *running
	gateA *gate
}

func startLockPair(t *testing.T) *lockPair {
	t.Helper()
	lp := &lockPair{db: newTestDB(t), rec: &imapRecorder{}}
	srv := startMem(t, memOptions{caps: capsRev2, rec: lp.rec})
	lp.pr = srv.peer(t)
	lp.boxID = lp.db.ids["imap-help"]
	// Each process checks its lock only when it is about to touch mail, or
	// at the periodic check, here an hour away as the 15 s check may be in
	// production. a waits for IDLE to announce mail, never for the poll
	// interval, so that it touches the mailbox only when the test says; b
	// polls every 200 ms besides, as the in-memory server may not announce
	// mail that arrives just before IDLE begins.
	begin := func(who string, d func(Deliverer) Deliverer) *running {
		log, _ := testLog(t)
		pool := openPool(t, lp.db.url, "")
		box := srv.box("imap-help")
		box.ID, box.Username = lp.boxID, imapUser+"+"+who
		if who == "a" {
			box.PollInterval = time.Hour
		}
		ctx, cancel := context.WithCancel(context.Background())
		set := func(p *Poller) {
			p.t.lockCheck = time.Hour
			p.tookLock = func(string) { lp.rec.took(who) }
		}
		return startWith(t, ctx, cancel, set, pool, d(processor(t, pool, log)), log, box)
	}
	lp.a = begin("a", func(d Deliverer) Deliverer { lp.gateA = newGate(d); return lp.gateA })
	eventually(t, 10*time.Second, "a polls the mailbox", func() bool {
		st := lp.a.status("imap-help")
		return st.Active && st.State == StateIdle
	})
	lp.b = begin("b", func(d Deliverer) Deliverer { return d })
	eventually(t, 10*time.Second, "b stands by", func() bool {
		return lp.b.status("imap-help").State == StateStandby && !lp.b.status("imap-help").Active
	})
	return lp
}

// terminateLock ends the database session that holds the mailbox's lock,
// as a network cut or a restart of PostgreSQL would, and waits until it is
// gone; the process that held it lives on.
func (lp *lockPair) terminateLock(t *testing.T) {
	t.Helper()
	var killed int
	err := lp.db.pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = hashtext('postdesk.imap')::oid AND objid = $1::int::oid AND objsubid = 2`, lp.boxID).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d lock sessions (%v), want 1", killed, err)
	}
}

// takenOver waits until b holds the lock and returns that moment's number.
func (lp *lockPair) takenOver(t *testing.T) int {
	t.Helper()
	eventually(t, 10*time.Second, "b takes the lock", func() bool { return lp.rec.lastTook("b") > 0 })
	return lp.rec.lastTook("b")
}

// check asserts that a touched no mail after the moment b took the lock,
// that b did, and that each mail is one ticket, flagged.
func (lp *lockPair) check(t *testing.T, took, mails int) {
	t.Helper()
	eventually(t, 10*time.Second, "a stands down", func() bool { return !lp.a.status("imap-help").Active })
	if ops := lp.rec.after("a", took); len(ops) > 0 {
		t.Errorf("after b took the lock (#%d), a, which had lost it, still sent %d commands: %v", took, len(ops), ops)
	}
	if ops := lp.rec.after("b", took); len(ops) == 0 {
		t.Error("b sent no command after it took the lock")
	}
	if rows, distinct := lp.db.inbound(t, "imap-help"); rows != mails || distinct != mails {
		t.Errorf("stored mails = %d (%d distinct), want %d", rows, distinct, mails)
	}
	if seen, all := lp.pr.countFlagged("INBOX", `\Seen`); seen != mails || all != mails {
		t.Errorf("%d of %d seen, want all %d", seen, all, mails)
	}
}

// A poller whose lock session died while it waited for mail does not fetch
// the next mail: it checks that it still holds the lock before each FETCH,
// rather than at its next periodic check, by when the standby has taken
// the lock and polls too.
func TestLostLockNoFetch(t *testing.T) {
	t.Parallel()
	lp := startLockPair(t)
	for i := 1; i <= 2; i++ {
		lp.pr.appendMail("INBOX", mailNo("before", i))
	}
	// Waiting for mail again, a has finished with these: its poll is over.
	eventually(t, 10*time.Second, "a makes the first mails tickets and waits", func() bool {
		return lp.db.tickets(t, "imap-help") == 2 && lp.a.status("imap-help").State == StateIdle
	})

	lp.terminateLock(t)
	took := lp.takenOver(t)
	// Both pollers are told of new mail by IDLE.
	for i := 1; i <= 3; i++ {
		lp.pr.appendMail("INBOX", mailNo("after", i))
	}
	eventually(t, 10*time.Second, "the new mails are tickets", func() bool {
		return lp.db.tickets(t, "imap-help") == 5
	})
	lp.check(t, took, 5)
}

// A poller whose lock session died while it committed a message does not
// flag it: it checks that it still holds the lock before each flag, and the
// standby, which has taken the lock meanwhile, flags the message instead.
func TestLostLockNoFlag(t *testing.T) {
	t.Parallel()
	lp := startLockPair(t)
	lp.gateA.arm()
	for i := 1; i <= 2; i++ {
		lp.pr.appendMail("INBOX", mailNo("during", i))
	}
	select {
	case <-lp.gateA.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("a did not start committing the first mail")
	}

	lp.terminateLock(t)
	took := lp.takenOver(t)
	eventually(t, 10*time.Second, "b makes the mails tickets", func() bool {
		seen, _ := lp.pr.countFlagged("INBOX", `\Seen`)
		return lp.db.tickets(t, "imap-help") == 2 && seen == 2
	})
	lp.gateA.release() // a's commit of the first mail ends now: a duplicate
	lp.check(t, took, 2)
}
