package poller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/ticket"
)

// dbTimeout bounds each statement on the lock connection, so that a database
// that stops answering is noticed instead of waited for.
const dbTimeout = 10 * time.Second

// lockConn is the dedicated database session of one mailbox. The advisory
// lock lives as long as the session: when this process dies, PostgreSQL
// ends the session and frees the lock for another process. The poller's
// state is written through the same session, so a process that has lost the
// lock (its session is gone) cannot write it any more.
type lockConn struct {
	conn *pgx.Conn
	id   int64

	// The state of the folder as committed: its UIDVALIDITY and the last UID
	// up to which every message was committed and flagged.
	validity uint32
	last     uint32
	// done holds UIDs above last committed and flagged while a message
	// before them could not be: they are not delivered again while this
	// process holds the lock. After a restart they are, as duplicates.
	done map[uint32]bool
}

// connectLock opens the dedicated session. It does not come from the pool:
// it is held for hours and must not count against the pool's connections.
func (p *Poller) connectLock(ctx context.Context, box Mailbox) (*lockConn, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, p.pool.Config().ConnConfig)
	if err != nil {
		return nil, fail("cannot reach the database", fmt.Errorf("poller: connect to the database: %w", err))
	}
	l := &lockConn{conn: conn, id: box.ID}
	if l.id == 0 {
		m, err := ticket.FindMailbox(ctx, conn, box.Name)
		if err != nil {
			l.close()
			return nil, fail("cannot find the mailbox in the database", fmt.Errorf("poller: %w", err))
		}
		l.id = m.ID
	}
	return l, nil
}

// tryLock takes the mailbox's advisory lock if no other session holds it,
// and then loads the committed state.
func (l *lockConn) tryLock(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	var ok bool
	// Two int4 keys: the first names the purpose, the second the mailbox, so
	// two mailboxes never share a lock (ids above 2^31 fail loudly here).
	err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('postdesk.imap'), $1::int)`, l.id).Scan(&ok)
	if err != nil {
		return false, fail("cannot take the mailbox lock in the database", fmt.Errorf("poller: advisory lock: %w", err))
	}
	if !ok {
		return false, nil
	}
	var validity, last int64
	err = l.conn.QueryRow(ctx, `SELECT coalesce(imap_uidvalidity, 0), imap_last_uid FROM mailboxes WHERE id = $1`,
		l.id).Scan(&validity, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fail("the mailbox is not in the database", fmt.Errorf("poller: mailbox %d is not in the database", l.id))
	}
	if err != nil {
		return false, fail("cannot read the mailbox's state from the database", fmt.Errorf("poller: load state: %w", err))
	}
	l.validity, l.last, l.done = uint32(validity), uint32(last), map[uint32]bool{}
	return true, nil
}

// save persists the folder's state.
func (l *lockConn) save(ctx context.Context, validity, last uint32) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	tag, err := l.conn.Exec(ctx, `UPDATE mailboxes SET imap_uidvalidity = $2, imap_last_uid = $3, imap_polled_at = now()
		WHERE id = $1`, l.id, int64(validity), int64(last))
	if err != nil {
		return fail("cannot save the mailbox's state in the database", fmt.Errorf("poller: save state: %w", err))
	}
	if tag.RowsAffected() != 1 {
		return fail("the mailbox is not in the database", fmt.Errorf("poller: mailbox %d is not in the database", l.id))
	}
	if validity != l.validity {
		clear(l.done)
	}
	for uid := range l.done {
		if uid <= last {
			delete(l.done, uid)
		}
	}
	l.validity, l.last = validity, last
	return nil
}

// touch records a complete poll.
func (l *lockConn) touch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	if _, err := l.conn.Exec(ctx, `UPDATE mailboxes SET imap_polled_at = now() WHERE id = $1`, l.id); err != nil {
		return fail("cannot save the mailbox's state in the database", fmt.Errorf("poller: record poll: %w", err))
	}
	return nil
}

// ping checks that the session, and so the lock, is still there.
func (l *lockConn) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	if err := l.conn.Ping(ctx); err != nil {
		return fail("lost the database session that holds the mailbox lock", fmt.Errorf("poller: lock session lost: %w", err))
	}
	return nil
}

// close ends the session, which frees the lock.
func (l *lockConn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}

// LastPolls returns when each active IMAP mailbox was last polled
// completely, by any replica: the poller writes that time, so it also
// reads it for the metrics.
func LastPolls(ctx context.Context, db ticket.Querier) (map[string]time.Time, error) {
	rows, err := db.Query(ctx, `SELECT name, imap_polled_at FROM mailboxes
		WHERE active AND kind = 'imap' AND imap_polled_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("poller: last polls: %w", err)
	}
	out := map[string]time.Time{}
	var name string
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&name, &at}, func() error {
		out[name] = at
		return nil
	}); err != nil {
		return nil, fmt.Errorf("poller: last polls: %w", err)
	}
	return out, nil
}
