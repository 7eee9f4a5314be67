package ticket

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Change is one committed-to-be event together with what it touched, handed
// to the Notifier inside the transaction that wrote it; or an answer to an
// agent's mail (Answer set, no event).
type Change struct {
	Ticket  *Ticket      // the ticket as it stands at the end of the transaction; nil for an answer about no ticket
	Event   Event        // the history event written
	Message *Message     // the message the event wrote, if any
	Answer  *AgentAnswer // set for an answer to an agent's own mail (Tx.Answer)
	// Quiet asks for no automatic mail to the customer: the change was caused
	// by an auto-reply or bounce, or by an admin who asked for silence.
	Quiet bool
}

// Notifier enqueues the notices that changes cause (Tx.Enqueue). It runs
// inside the transaction that made the changes, just before commit, so the
// notices exist exactly when the changes do.
type Notifier interface {
	Notify(ctx context.Context, tx *Tx, changes []Change) error
}

// Store is the ticket database.
type Store struct {
	pool     *pgxpool.Pool
	numbers  Numbering
	notifier Notifier
	maxCc    int
}

// DefaultMaxCollaborators is how many addresses of an opening mail's Cc
// become collaborators when SetMaxCollaborators was not called.
const DefaultMaxCollaborators = 10

// NewStore returns a store over pool. A nil notifier sends no notices.
func NewStore(pool *pgxpool.Pool, numbers Numbering, notifier Notifier) *Store {
	return &Store{pool: pool, numbers: numbers, notifier: notifier, maxCc: DefaultMaxCollaborators}
}

// SetMaxCollaborators sets how many of NewTicket.Collaborators Open adds
// (0: none); the others are listed in a note. It is meant for start-up
// wiring, before the store is shared.
func (s *Store) SetMaxCollaborators(n int) { s.maxCc = max(n, 0) }

// Pool is the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Numbering is the store's ticket number and token format.
func (s *Store) Numbering() Numbering { return s.numbers }

// SetNotifier sets the notifier used by transactions begun afterwards. It is
// meant for start-up wiring, before the store is shared.
func (s *Store) SetNotifier(n Notifier) { s.notifier = n }

// Tx is one ticket transaction. Its methods write changes and their history;
// the changes are handed to the Notifier when fn returns without error.
type Tx struct {
	store   *Store
	tx      pgx.Tx
	changes []Change
	quiet   bool
	claim   func(ticketID int64) error
	counts  map[countKey]int // queue count moves not yet written (queue_count.go)
	group   *Counts          // for a member of a shared transaction: where its moves go
}

// InTx runs fn in one database transaction and commits it together with the
// notices its changes cause. Any error from fn, the notifier or the commit
// rolls everything back.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("ticket: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := s.run(ctx, &Tx{store: s, tx: tx}, fn); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ticket: commit: %w", err)
	}
	return nil
}

// InShared runs fn and queues the notices its changes cause in db, a
// transaction that the caller owns, shares with other changes and commits:
// group commit, where several changes pay for one COMMIT. Row locks cannot
// order changes within one transaction, so claim (when not nil) is called
// with every ticket fn opens or locks, before fn reads it, and with a
// negative key for every recipient whose automatic mail is capped, before
// its recent mail is counted; an error from claim fails fn, and the caller should then make the change in a
// transaction of its own.
//
// The members' queue count moves go to counts, which the owner writes
// (Counts.Write) once all members have run, before it commits.
func (s *Store) InShared(ctx context.Context, db pgx.Tx, claim func(ticketID int64) error, counts *Counts, fn func(*Tx) error) error {
	return s.run(ctx, &Tx{store: s, tx: db, claim: claim, group: counts}, fn)
}

func (s *Store) run(ctx context.Context, t *Tx, fn func(*Tx) error) error {
	if err := fn(t); err != nil {
		return err
	}
	if s.notifier != nil && len(t.changes) > 0 {
		if err := s.notifier.Notify(ctx, t, t.changes); err != nil {
			return fmt.Errorf("ticket: notify: %w", err)
		}
	}
	return t.flushCounts(ctx)
}

// claimed reports a ticket that this transaction opens or locks to the
// owner of a shared transaction.
func (t *Tx) claimed(id int64) error {
	if t.claim == nil {
		return nil
	}
	return t.claim(id)
}

// DB is the underlying transaction, for callers that read or write their
// own rows in the same transaction (the intake; ticket/notice reads the
// people to tell through it).
func (t *Tx) DB() pgx.Tx { return t.tx }

// Store is the store this transaction belongs to.
func (t *Tx) Store() *Store { return t.store }

// Quiet marks every change of this transaction as one that must not mail the
// customer automatically (see Change.Quiet).
func (t *Tx) Quiet() { t.quiet = true }

// record writes ev to the history and remembers it for the notifier.
func (t *Tx) record(ctx context.Context, tk *Ticket, ev Event, msg *Message) (Event, error) {
	ev.TicketID = tk.ID
	var agentID, customerID *int64
	switch ev.Actor.Kind {
	case ActorAgent:
		agentID = nullID(ev.Actor.ID)
	case ActorCustomer:
		customerID = nullID(ev.Actor.ID)
	case ActorSystem:
	default:
		return ev, fmt.Errorf("ticket: event %s: %w: actor kind %q", ev.Action, ErrInvalid, ev.Actor.Kind)
	}
	ev.Old, ev.New, ev.Detail, ev.Actor.Name = Clean(ev.Old), Clean(ev.New), Clean(ev.Detail), Clean(ev.Actor.Name)
	var msgID *int64
	if msg != nil {
		msgID = nullID(msg.ID)
		ev.MessageID = msg.ID
	}
	// One statement writes the event and moves the ticket's updated_at to
	// its time: a round trip less for every change. The ticket a
	// transaction has just opened keeps the time it was created: rewriting
	// the new row would cost every new ticket a second version of it.
	sql := recordAndTouch
	if ev.Action == ActionOpened {
		sql = recordOnly
	}
	// The ids of what an assignment or transfer names, so that the event
	// keeps meaning the same agent or department after a rename.
	var oldAgent, newAgent, oldDept, newDept *int64
	switch ev.Action {
	case ActionAssigned:
		oldAgent, newAgent = nullID(ev.OldID), nullID(ev.NewID)
	case ActionTransferred:
		oldDept, newDept = nullID(ev.OldID), nullID(ev.NewID)
	}
	err := t.tx.QueryRow(ctx, sql, tk.ID, ev.Actor.Kind, agentID, customerID, ev.Actor.String(), ev.Action,
		ev.Old, ev.New, ev.Detail, msgID, oldAgent, newAgent, oldDept, newDept).Scan(&ev.ID, &ev.At)
	if err != nil {
		return ev, fmt.Errorf("ticket: record %s on %s: %w", ev.Action, tk.Number, err)
	}
	if ev.Action != ActionOpened {
		tk.UpdatedAt = ev.At
	}
	t.changes = append(t.changes, Change{Ticket: tk, Event: ev, Message: msg, Quiet: t.quiet})
	return ev, nil
}

const recordOnly = `
	INSERT INTO ticket_events (ticket_id, actor_kind, actor_agent_id, actor_customer_id,
	                           actor_name, action, old_value, new_value, detail, message_id,
	                           old_agent_id, new_agent_id, old_department_id, new_department_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
	RETURNING id, created_at`

const recordAndTouch = `
	WITH ev AS (` + recordOnly + `
	), touch AS (
	    UPDATE tickets SET updated_at = ev.created_at FROM ev WHERE tickets.id = $1
	)
	SELECT id, created_at FROM ev`

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
