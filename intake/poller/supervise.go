package poller

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sethvargo/go-retry"
)

// supervise runs one mailbox until ctx ends: it waits in standby until it
// holds the mailbox's lock, then polls, reconnecting after failures, until
// the lock's session is lost.
func (p *Poller) supervise(ctx context.Context, i int) {
	box := p.boxes[i]
	log := p.log.With("mailbox", box.Name)
	var l *lockConn
	defer func() {
		if l != nil {
			l.close()
		}
	}()
	for ctx.Err() == nil {
		if l == nil {
			var err error
			if l, err = p.connectLock(ctx, box); err != nil {
				p.failed(i, log, "cannot reach the database; standing by", err)
				sleep(ctx, p.t.standbyRetry)
				continue
			}
		}
		held, err := l.tryLock(ctx)
		if err != nil {
			p.failed(i, log, "cannot take the mailbox lock; standing by", err)
			l.close()
			l = nil
			sleep(ctx, p.t.standbyRetry)
			continue
		}
		if !held {
			p.setState(i, StateStandby)
			sleep(ctx, p.t.standbyRetry)
			continue
		}
		if p.tookLock != nil {
			p.tookLock(box.Name)
		}
		log.Info("this process now polls the mailbox", "uidvalidity", l.validity, "last_uid", l.last)
		p.update(i, func(s *MailboxStatus) { s.Active = true })
		p.hold(ctx, i, l, log)
		p.update(i, func(s *MailboxStatus) { s.Active, s.State, s.Backlog = false, StateStandby, 0 })
		// Ending the session frees the lock at once for another process.
		l.close()
		l = nil
		if ctx.Err() == nil {
			log.Warn("lost the mailbox lock's database session; standing by")
		}
	}
}

// hold polls while this process holds the lock: each IMAP session runs until
// it fails, and the next starts after a growing pause, as long as the lock's
// session lives.
func (p *Poller) hold(ctx context.Context, i int, l *lockConn, log *slog.Logger) {
	bo := p.reconnectBackoff()
	for {
		err := p.session(ctx, i, l, log, &bo)
		if ctx.Err() != nil {
			return
		}
		if perr := l.ping(ctx); perr != nil {
			p.failed(i, log, "the database session holding the mailbox lock is gone", perr)
			return
		}
		wait, _ := bo.Next() // never stops: it has no limit of attempts
		p.failed(i, log, "mailbox poll failed; retrying in "+wait.Round(time.Second).String(), err)
		if err := p.wait(ctx, l, nil, nil, wait); err != nil {
			p.failed(i, log, "the database session holding the mailbox lock is gone", err)
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// failed records and logs a failure. The same failure again is logged at
// debug level only, so that a server down for hours does not flood the log;
// Status shows it all along, in words (see worded): the log has the whole
// error, what the server or the token helper said included. Error texts
// carry no credentials: passwords and tokens are never part of an error.
func (p *Poller) failed(i int, log *slog.Logger, msg string, err error) {
	if err == nil {
		err = errors.New("poller: " + msg)
	}
	p.update(i, func(s *MailboxStatus) { s.State = StateError })
	log.Log(context.Background(), p.note(i, err), msg, "error", err)
}

// note records a failure as the mailbox's last error and says at which
// level to log it: error when it is new, debug when it is the same again.
func (p *Poller) note(i int, err error) slog.Level {
	level := slog.LevelError
	detail := err.Error()
	p.update(i, func(s *MailboxStatus) {
		if s.lastDetail == detail {
			level = slog.LevelDebug
		}
		s.LastError, s.lastDetail = wordsOf(err), detail
	})
	return level
}

// wait pauses for d, or until ctx ends or a signal arrives on wake, checking
// meanwhile that the lock's session is alive and that the IMAP connection
// (closed, when not nil) has not been dropped by the server.
func (p *Poller) wait(ctx context.Context, l *lockConn, wake <-chan struct{}, closed <-chan struct{}, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	check := time.NewTicker(p.t.lockCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			return nil
		case <-wake:
			return nil
		case <-closed:
			return errConnClosed
		case <-check.C:
			if err := l.ping(ctx); err != nil {
				return err
			}
		}
	}
}

// sleep pauses for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// reconnectBackoff returns the pauses between a mailbox's IMAP sessions:
// doubling from backoffMin up to backoffMax, with jitter so that several
// mailboxes on one failing server do not retry in step. It is go-retry's,
// as is serve's wait for the database; a session that polled starts a new
// one.
func (p *Poller) reconnectBackoff() retry.Backoff {
	return retry.WithCappedDuration(p.t.backoffMax,
		retry.WithJitterPercent(reconnectJitter, retry.NewExponential(p.t.backoffMin)))
}

// reconnectJitter is the spread of each pause, in percent either way.
const reconnectJitter = 25
