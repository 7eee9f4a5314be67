package poller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postdesk/postdesk/intake"
)

// maxMessageBytes is the largest message read into memory. A larger one is
// left unread on the server and reported, rather than stopping the mailbox.
const maxMessageBytes = 64 << 20

// poll commits every message above the last committed UID, in UID order,
// and reports how many could not be committed. When a commit fails and the
// database does not answer, the poll stops: the message and the ones after
// it stay unseen on the server for the next attempt. When the database does
// answer, the failure belongs to that message: it stays unseen and is tried
// again at the next poll, and the messages after it go on, so that one bad
// message never holds up a mailbox. Once ctx ends poll finishes the message
// in hand and returns.
func (s *session) poll(ctx context.Context) (failed int, err error) {
	uids, err := s.newUIDs(ctx)
	if err != nil {
		return 0, err
	}
	// Messages committed while an earlier one failed are not delivered again.
	todo := slices.DeleteFunc(slices.Clone(uids), func(uid uint32) bool { return s.lock.done[uid] })
	for n, uid := range todo {
		if ctx.Err() != nil {
			return failed, nil
		}
		if uid <= s.lock.last {
			continue // passed by advance after an earlier message succeeded
		}
		s.p.update(s.i, func(st *MailboxStatus) { st.Backlog = failed + len(todo) - n })
		err := s.handle(ctx, uid)
		var de *deliveryError
		switch {
		case err == nil:
			s.lock.done[uid] = true
			if err := s.advance(ctx, uids); err != nil {
				return failed, err
			}
		case !errors.As(err, &de):
			return failed, err
		default:
			if perr := s.lock.ping(ctx); perr != nil {
				return failed, err
			}
			failed++
			s.log.Log(ctx, s.p.note(s.i, err), "message not committed though the database answers: "+
				"left unseen on the server, to be tried again; going on with the next", "uid", uid, "error", err)
		}
	}
	if failed > 0 {
		return failed, nil
	}
	return 0, s.lock.touch(ctx)
}

// advance stores as the last UID the highest one up to which every listed
// message is done.
func (s *session) advance(ctx context.Context, uids []uint32) error {
	last := s.lock.last
	for _, uid := range uids {
		if uid <= last {
			continue
		}
		if !s.lock.done[uid] {
			break
		}
		last = uid
	}
	if last == s.lock.last {
		return nil
	}
	// Detached: the UID of a message already flagged is recorded even when
	// the poller is being stopped.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.p.t.finish)
	defer cancel()
	return s.lock.save(ctx, s.lock.validity, last)
}

// held proves, right before a command that reads or changes mail, that
// this process still holds the mailbox's lock. The lock lives as long as
// its database session; when that session dies while this process lives (a
// network cut, pg_terminate_backend, a restart of PostgreSQL), a standby
// takes the lock within seconds, and from then on this process must neither
// fetch nor flag: the periodic check of wait comes too late for that.
func (s *session) held(ctx context.Context) error { return s.lock.ping(ctx) }

// newUIDs lists the UIDs above the last committed one. Only UIDs are
// fetched here; bodies are fetched one by one, so that no IMAP command is
// outstanding while Deliver waits for the database, and each message can be
// flagged right after its commit.
func (s *session) newUIDs(ctx context.Context) ([]uint32, error) {
	last := s.lock.last
	if last == math.MaxUint32 {
		return nil, nil
	}
	if err := s.held(ctx); err != nil {
		return nil, err
	}
	msgs, err := s.c.Fetch(imap.UIDSet{{Start: imap.UID(last + 1), Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		return nil, fail("cannot list the new messages", fmt.Errorf("poller: list new messages in %s: %w", s.box.Folder, err))
	}
	uids := make([]uint32, 0, len(msgs))
	for _, m := range msgs {
		// "last+1:*" always matches the highest UID, even when it is <= last.
		if uint32(m.UID) > last {
			uids = append(uids, uint32(m.UID))
		}
	}
	slices.Sort(uids)
	return slices.Compact(uids), nil
}

// deliveryError is a message that Deliver did not commit.
type deliveryError struct {
	uid uint32
	err error
}

func (e *deliveryError) Error() string {
	return fmt.Sprintf("poller: uid %d not committed, it stays unseen on the server: %v", e.uid, e.err)
}

func (e *deliveryError) Unwrap() error { return e.err }

func (e *deliveryError) words() string {
	return fmt.Sprintf("message uid %d not committed: it stays unseen on the server and is tried again", e.uid)
}

// handle commits one message and only then marks it done on the server. A
// message that is gone, or too large to take in, is passed over.
func (s *session) handle(ctx context.Context, uid uint32) error {
	log := s.log.With("uid", uid)
	raw, found, err := s.fetchBody(ctx, uid)
	if err != nil {
		return err
	}
	switch {
	case !found:
		log.Info("message was expunged by another client before it was read")
		return nil
	case len(raw) > maxMessageBytes:
		log.Error("message too large to take in: left unread on the server", "limit_bytes", maxMessageBytes)
		return nil
	}
	// From here on the message is finished even if ctx ends: its commit and
	// its flag go together as far as this process can make them.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.p.t.finish)
	defer cancel()
	env := intake.Envelope{Transport: intake.TransportIMAP, MailboxID: s.lock.id,
		IMAPUIDValidity: s.lock.validity, IMAPUID: uid}
	res, err := s.p.d.Deliver(fctx, env, raw)
	if err != nil {
		return &deliveryError{uid: uid, err: err}
	}
	log.Debug("message committed", "outcome", res.Outcome, "ticket", res.TicketNumber, "duplicate", res.Duplicate)
	return s.markDone(fctx, uid)
}

// fetchBody reads one message whole with BODY.PEEK[], which leaves \Seen
// alone. found is false when the server has no such message any more.
func (s *session) fetchBody(ctx context.Context, uid uint32) (raw []byte, found bool, err error) {
	if err := s.held(ctx); err != nil {
		return nil, false, err
	}
	set := imap.UIDSetNum(imap.UID(uid))
	cmd := s.c.Fetch(set, &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		var got imap.UID
		var body []byte
		var hasBody bool
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				got = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				// The literal must be read before the next Next; one byte over
				// the limit is enough to know it is too large.
				b, rerr := io.ReadAll(io.LimitReader(it.Literal, maxMessageBytes+1))
				if rerr != nil {
					_ = cmd.Close()
					return nil, false, fail(fmt.Sprintf("cannot read message uid %d", uid), fmt.Errorf("poller: read uid %d: %w", uid, rerr))
				}
				body, hasBody = b, true
			}
		}
		if uint32(got) == uid && hasBody {
			raw, found = body, true
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, false, fail(fmt.Sprintf("cannot read message uid %d", uid), fmt.Errorf("poller: fetch uid %d: %w", uid, err))
	}
	if found {
		return raw, true, nil
	}
	// No body came back. Make sure the message is really gone before moving
	// past it: a server that answered oddly must not make us skip mail.
	if err := s.held(ctx); err != nil {
		return nil, false, err
	}
	msgs, err := s.c.Fetch(set, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		return nil, false, fail(fmt.Sprintf("cannot read message uid %d", uid), fmt.Errorf("poller: check uid %d: %w", uid, err))
	}
	for _, m := range msgs {
		if uint32(m.UID) == uid {
			return nil, false, fail(fmt.Sprintf("the IMAP server returned no body for message uid %d", uid),
				fmt.Errorf("poller: %s returned no body for uid %d", s.box.Host, uid))
		}
	}
	return nil, false, nil
}

// markDone flags or moves a committed message, if this process still holds
// the lock: otherwise the process that holds it now does.
func (s *session) markDone(ctx context.Context, uid uint32) error {
	if err := s.held(ctx); err != nil {
		return err
	}
	set := imap.UIDSetNum(imap.UID(uid))
	if err := s.addFlags(set, imap.FlagSeen); err != nil {
		return err
	}
	if s.box.After != AfterMove {
		return nil
	}
	caps := s.c.Caps()
	if caps.Has(imap.CapMove) {
		if _, err := s.c.Move(set, s.box.MoveTo).Wait(); err != nil {
			return fail(fmt.Sprintf("cannot move message uid %d to %s", uid, s.box.MoveTo),
				fmt.Errorf("poller: move uid %d to %s: %w", uid, s.box.MoveTo, err))
		}
		return nil
	}
	if _, err := s.c.Copy(set, s.box.MoveTo).Wait(); err != nil {
		return fail(fmt.Sprintf("cannot move message uid %d to %s", uid, s.box.MoveTo),
			fmt.Errorf("poller: copy uid %d to %s: %w", uid, s.box.MoveTo, err))
	}
	if err := s.addFlags(set, imap.FlagDeleted); err != nil {
		return err
	}
	if caps.Has(imap.CapUIDPlus) {
		if err := s.c.UIDExpunge(set).Close(); err != nil {
			return fail(fmt.Sprintf("cannot move message uid %d to %s", uid, s.box.MoveTo),
				fmt.Errorf("poller: expunge uid %d: %w", uid, err))
		}
		return nil
	}
	// A plain EXPUNGE would also remove every other \Deleted message in the
	// folder, which is not ours to remove.
	if !s.warnedExpunge {
		s.warnedExpunge = true
		s.log.Warn("the server offers neither MOVE nor UIDPLUS: processed mail is copied and left flagged "+
			"\\Deleted in the folder, to be expunged by the mail client or the server", "folder", s.box.Folder)
	}
	return nil
}

func (s *session) addFlags(set imap.UIDSet, flags ...imap.Flag) error {
	err := s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
	if err != nil {
		return fail(fmt.Sprintf("cannot flag message %v", set), fmt.Errorf("poller: flag %v %v: %w", set, flags, err))
	}
	return nil
}
