package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// Worker delivers queued notices. Several workers, in one process or many,
// may share one database: each notice is claimed by exactly one of them.
type Worker struct {
	store *ticket.Store
	queue Queue
	relay *relay
	lease time.Duration // see leaseFor
	dkim  *dkimSigner
	log   *slog.Logger
	// What renders the drafts of queued notices.
	templates *templates.Set
	maxAttach int64
}

// NewWorker checks the relay and DKIM options and returns a worker that
// delivers the notices queued in store's database.
func NewWorker(store *ticket.Store, opts Options) (*Worker, error) {
	if err := errors.Join(opts.checkRelay(), opts.Queue.check()); err != nil {
		return nil, err
	}
	if opts.Templates == nil {
		return nil, errors.New("mailer: the worker needs the templates: it renders the notices it sends")
	}
	w := &Worker{store: store, queue: opts.Queue.withDefaults(),
		relay: newRelay(opts.Relay), lease: leaseFor(opts.Relay), log: opts.logger(), templates: opts.Templates, maxAttach: opts.maxAttachmentBytes()}
	if opts.DKIM != nil {
		var err error
		if w.dkim, err = newDKIMSigner(opts.DKIM); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Run delivers notices until ctx ends, then returns nil. It wakes when a
// transaction queues a notice (LISTEN), when a retry falls due, and every
// poll interval in case a notification was missed. Stopping is safe at any
// moment: a notice whose delivery was interrupted stays queued.
func (w *Worker) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.listen(lctx, wake)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		n, err := w.DeliverBatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := w.queue.PollInterval
		switch {
		case err != nil:
			w.log.Error("outbox: delivery round failed", "err", err)
			wait = 5 * w.queue.PollInterval
		case n > 0:
			continue // more may be due; an empty claim ends the round
		default:
			if d, ok := w.nextDue(ctx); ok && d < wait {
				// Rows due now but locked by another worker: do not spin.
				wait = max(d, 50*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// listen turns notifications on the outbox channel into wake-ups, reconnecting
// when the connection drops; polling covers the gaps.
func (w *Worker) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := w.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		w.log.Warn("outbox: listener lost, polling until it is back", "err", err)
		t := time.NewTimer(5 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (w *Worker) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	// The first wake-up covers whatever was queued before LISTEN took effect.
	if err := w.store.ListenOutbox(ctx, func() { signal(wake) }); err != nil {
		return fmt.Errorf("mailer: %w", err)
	}
	return nil
}

func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// nextDue returns how long until the next pending notice falls due, by the
// database's clock; ok is false when nothing is pending.
func (w *Worker) nextDue(ctx context.Context) (time.Duration, bool) {
	d, ok, err := w.store.NextMailDue(ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			w.log.Warn("outbox: next due time", "err", err)
		}
		return 0, false
	}
	return d, ok
}
