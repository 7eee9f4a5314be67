package mailer_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

// mailerApp names the worker's database sessions, so that a test can find
// them in pg_stat_activity.
const mailerApp = "postdesk-mailer-test"

// workerThrough returns a worker whose database connections go through
// proxy (nil: straight to the server), named mailerApp.
func (f *fixture) workerThrough(proxy *dbtest.Proxy) *mailer.Worker {
	f.t.Helper()
	url := f.pool.Config().ConnString()
	if proxy != nil {
		url = proxy.URL(f.t, url)
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		f.t.Fatal(err)
	}
	pc.ConnConfig.RuntimeParams["application_name"] = mailerApp
	pool, err := pgxpool.NewWithConfig(f.ctx, pc)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(pool.Close)
	store := ticket.NewStore(pool, ticket.DefaultNumbering(), f.notifier)
	w, err := mailer.NewWorker(store, f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return w
}

// noteMarkModes makes the database note, for every notice marked sent,
// the commit mode in force in the mark's transaction; markModes reads them.
func (f *fixture) noteMarkModes() {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, `
		CREATE TABLE mark_modes (id bigint, mode text);
		CREATE FUNCTION note_mode() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO mark_modes VALUES (NEW.id, current_setting('synchronous_commit'));
			RETURN NEW;
		END $$;
		CREATE TRIGGER note_mode AFTER UPDATE OF state ON outbound_mails
		   FOR EACH ROW WHEN (NEW.state = 'sent') EXECUTE FUNCTION note_mode();`); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) markModes() map[string]int {
	f.t.Helper()
	modes := map[string]int{}
	rows, err := f.pool.Query(f.ctx, `SELECT mode, count(*) FROM mark_modes GROUP BY mode`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var mode string
		var n int
		if err := rows.Scan(&mode, &n); err != nil {
			f.t.Fatal(err)
		}
		modes[mode] = n
	}
	return modes
}

// TestDatabaseOutageSendsNothingTwice: the worker loses its database right
// after the relay accepted a notice (the connection cut, or its backend
// terminated, three times in a batch), and gets it back. Every notice is
// received by the relay exactly once and marked sent, each mark committed
// synchronously; nothing is left to go out again when the leases end.
func TestDatabaseOutageSendsNothingTwice(t *testing.T) {
	for _, mode := range []string{"connection cut", "backend terminated"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, func(o *mailer.Options) {
				o.AutoReplyLimit = -1
				o.Relay.Timeout = 2 * time.Second // a lease of 4 s: what is left unmarked goes out again soon
			}, nil)
			const tickets = 10 // three notices each: ack, Ken, helpdesk@
			for range tickets {
				f.open("")
			}
			f.noteMarkModes()
			proxy := dbtest.NewProxy(t, f.pool.Config().ConnString())
			w := f.workerThrough(proxy)
			outages := make(chan struct{}, 3)
			f.sink.mu.Lock()
			f.sink.answer = func(n int) error {
				if n != 2 && n != 9 && n != 17 {
					return nil
				}
				// The relay has the mail; its 250 goes out after this.
				switch mode {
				case "connection cut":
					proxy.Cut()
					time.AfterFunc(300*time.Millisecond, proxy.Restore)
				case "backend terminated":
					if _, err := f.pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
						WHERE datname = current_database() AND application_name = $1`, mailerApp); err != nil {
						t.Error(err)
					}
				}
				outages <- struct{}{}
				return nil
			}
			f.sink.mu.Unlock()
			stop := runWorker(t, w)
			total := 3 * tickets
			sent := func() int {
				return dbtest.Count(t, f.pool, `SELECT count(*) FROM outbound_mails WHERE state = 'sent'`)
			}
			waitFor(t, "every notice marked sent", 30*time.Second, func() bool { return sent() == total })
			stop()
			if len(outages) != 3 {
				t.Fatalf("%d outages played, want 3", len(outages))
			}
			counts := map[string]int{}
			for _, m := range f.sink.received() {
				counts[parse(t, m).messageID()]++
			}
			var twice []string
			for id, n := range counts {
				if n != 1 {
					twice = append(twice, id)
				}
			}
			slices.Sort(twice)
			if len(twice) > 0 || len(f.sink.received()) != total {
				t.Errorf("relay received %d mails for %d notices; more than once: %v", len(f.sink.received()), total, twice)
			}
			if modes := f.markModes(); modes["on"] != total || len(modes) != 1 {
				t.Errorf("commit modes of the sent marks %v, want all %d on", modes, total)
			}
		})
	}
}

// TestCrashResendsOnlyTheNoticeInFlight: a worker loses its database for
// good right after the relay accepted a notice, as a process killed there
// (kill -9) would, and a second worker takes over when the first one's
// lease ends. Only the notice whose hand-off was in flight goes out again,
// with the same Message-ID and bytes; every other one goes out once.
func TestCrashResendsOnlyTheNoticeInFlight(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) {
		o.AutoReplyLimit = -1
		o.Relay.Timeout = time.Second // a lease of 2 s
	}, nil)
	const tickets = 4
	for range tickets {
		f.open("")
	}
	proxy := dbtest.NewProxy(t, f.pool.Config().ConnString())
	crashed := make(chan struct{})
	f.sink.mu.Lock()
	f.sink.answer = func(n int) error {
		if n == 4 {
			proxy.Cut() // never restored: the first worker is gone
			close(crashed)
		}
		return nil
	}
	f.sink.mu.Unlock()
	stop := runWorker(t, f.workerThrough(proxy))
	<-crashed
	stop()
	inFlight := parse(t, f.sink.received()[4]).messageID()
	stop = runWorker(t, f.worker())
	total := 3 * tickets
	waitFor(t, "every notice marked sent", 30*time.Second, func() bool {
		return dbtest.Count(t, f.pool, `SELECT count(*) FROM outbound_mails WHERE state = 'sent'`) == total
	})
	stop()
	got := f.sink.received()
	counts := map[string]int{}
	var copies [][]byte
	for _, m := range got {
		id := parse(t, m).messageID()
		counts[id]++
		if id == inFlight {
			copies = append(copies, m.Data)
		}
	}
	if len(got) != total+1 || len(counts) != total || counts[inFlight] != 2 {
		t.Errorf("relay received %d mails for %d notices, the one in flight %d times; want %d, each once but that one twice",
			len(got), len(counts), counts[inFlight], total+1)
	}
	if len(copies) == 2 && string(copies[0]) != string(copies[1]) {
		t.Error("the notice sent again differs from the first copy")
	}
}
