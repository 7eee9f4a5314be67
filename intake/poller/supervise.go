package poller

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
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
	bo := backoff{min: p.t.backoffMin, max: p.t.backoffMax}
	for {
		err := p.session(ctx, i, l, log, &bo)
		if ctx.Err() != nil {
			return
		}
		if perr := l.ping(ctx); perr != nil {
			p.failed(i, log, "the database session holding the mailbox lock is gone", perr)
			return
		}
		wait := bo.next()
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
// Status shows it all along. Error texts carry no credentials: passwords and
// tokens are never part of an error.
func (p *Poller) failed(i int, log *slog.Logger, msg string, err error) {
	text := msg
	if err != nil {
		text = err.Error()
	}
	p.update(i, func(s *MailboxStatus) { s.State = StateError })
	log.Log(context.Background(), p.note(i, text), msg, "error", err)
}

// note records a failure as the mailbox's last error and says at which
// level to log it: error when it is new, debug when it is the same again.
func (p *Poller) note(i int, text string) slog.Level {
	level := slog.LevelError
	p.update(i, func(s *MailboxStatus) {
		if s.LastError == text {
			level = slog.LevelDebug
		}
		s.LastError = text
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

// backoff grows the pause between reconnects exponentially, with jitter so
// that several mailboxes on one failing server do not retry in step.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur *= 2; b.cur > b.max {
		b.cur = b.max
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }
