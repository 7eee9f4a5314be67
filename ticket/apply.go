package ticket

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// OpKind names a kind of change an actor asks of a ticket.
type OpKind string

// The changes Apply makes, in the order it makes them.
const (
	OpCc       OpKind = "cc"       // copy a contact on the public conversation
	OpPriority OpKind = "priority" // change the priority
	OpAssign   OpKind = "assign"   // give the ticket to an agent, or to nobody
	OpTransfer OpKind = "transfer" // move the ticket to a department, with an optional note
	OpReply    OpKind = "reply"    // a public reply to the customer
	OpNote     OpKind = "note"     // an internal note, for agents only
	OpMessage  OpKind = "message"  // a message from the customer's side
	OpStatus   OpKind = "status"   // resolve, close or reopen

	// OpUnverified keeps a mail from an agent's address that proved
	// nothing, for the agents only, flagged: it changes nothing else, not
	// even a resolved ticket's status. Its actor is Unverified; Apply
	// makes it with the messages.
	OpUnverified OpKind = "unverified"
)

// applyOrder is the order Apply makes changes in, whatever order they come
// in: who is copied and how urgent it is first, then who has it, then what
// was said, and the status last, so that "reply and resolve" tells the
// customer of the reply as the resolution.
var applyOrder = map[OpKind]int{OpCc: 0, OpPriority: 1, OpAssign: 2, OpTransfer: 3,
	OpReply: 4, OpNote: 4, OpMessage: 4, OpUnverified: 4, OpStatus: 5}

// Op is one change an actor asks of a ticket, named as the actor wrote it.
type Op struct {
	Kind OpKind
	// Value is what the change names: for OpCc an email address, for
	// OpPriority a priority, for OpAssign an agent's username, name or
	// email ("" gives the ticket to nobody), for OpTransfer a department's
	// name, for OpStatus a status, for OpUnverified why the mail proves
	// nothing. Other messages leave it empty.
	Value string
	// Message is the text of OpReply, OpNote, OpMessage and OpUnverified, and for
	// OpTransfer the note that travels with the transfer (nil for none).
	// Apply sets its kind and makes the actor its author.
	Message *Message
}

// ErrRefused is what every *Refusal is (errors.Is).
var ErrRefused = errors.New("refused")

// Refusal is a change Apply would not make, for the actor to read: nothing
// of the request was applied.
type Refusal struct {
	Op  Op     // the change refused
	Why string // what was wrong, in the actor's words: "there is no department of that name"
}

// Error reads "transfer Nowhere: there is no department of that name"; mail
// puts its command sign in front of it.
func (r *Refusal) Error() string {
	if r.Op.Value == "" {
		return fmt.Sprintf("%s: %s", r.Op.Kind, r.Why)
	}
	return fmt.Sprintf("%s %s: %s", r.Op.Kind, r.Op.Value, r.Why)
}

// Is makes a Refusal match ErrRefused.
func (r *Refusal) Is(target error) bool { return target == ErrRefused }

// Apply is the one door for an actor's changes to a ticket, whichever
// surface they come from (an agent's mail, the command line, a customer's
// mail). tk must be locked by this transaction (Lock, LockNumber). Apply
// first checks every change, in the order given, and looks up the agents
// and departments they name; at the first wrong one it returns a *Refusal
// and has written nothing. Then it makes the changes in the order of the
// OpKind constants, each with its history event carrying the actor; the
// Notifier queues their notices in the same transaction, just before it
// commits.
func (t *Tx) Apply(ctx context.Context, tk *Ticket, actor Actor, ops ...Op) error {
	switch actor.Kind {
	case ActorAgent, ActorCustomer, ActorSystem:
	default:
		return fmt.Errorf("ticket: %s: %w: actor kind %q", tk.Number, ErrInvalid, actor.Kind)
	}
	plan := make([]planned, 0, len(ops))
	for _, op := range ops {
		p, err := t.check(ctx, actor, op)
		if err != nil {
			return err
		}
		plan = append(plan, p)
	}
	sort.SliceStable(plan, func(i, j int) bool { return applyOrder[plan[i].Kind] < applyOrder[plan[j].Kind] })
	for _, p := range plan {
		if err := t.do(ctx, tk, actor, p); err != nil {
			return err
		}
	}
	return nil
}

// Apply runs Tx.Apply on the ticket numbered number in a transaction of its
// own and returns the ticket as the changes left it.
func (s *Store) Apply(ctx context.Context, number string, actor Actor, ops ...Op) (*Ticket, error) {
	var tk *Ticket
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if tk, err = tx.LockNumber(ctx, number); err != nil {
			return err
		}
		return tx.Apply(ctx, tk, actor, ops...)
	})
	if err != nil {
		return nil, err
	}
	return tk, nil
}

// ActiveAgent finds an active agent by username, name or email, for a
// surface to name its actor; ErrNotFound when there is none.
func (s *Store) ActiveAgent(ctx context.Context, who string) (Agent, error) {
	a, err := FindAgent(ctx, s.pool, who)
	if err != nil {
		return Agent{}, err
	}
	if !a.Active {
		return Agent{}, fmt.Errorf("ticket: agent %q is not active: %w", who, ErrNotFound)
	}
	return a, nil
}

// Department finds a department by name, ignoring case; ErrNotFound when
// there is none.
func (s *Store) Department(ctx context.Context, name string) (Department, error) {
	return FindDepartment(ctx, s.pool, name)
}

// planned is a checked change with what it names looked up.
type planned struct {
	Op
	status   Status
	priority Priority
	id       int64 // the agent or department
}

// check validates one change before anything is written. A refusal says
// what was wrong; any other error is a failure of the lookup itself.
func (t *Tx) check(ctx context.Context, actor Actor, op Op) (planned, error) {
	p := planned{Op: op}
	refuse := func(why string) (planned, error) { return p, &Refusal{Op: op, Why: why} }
	if actor.Kind == ActorCustomer && op.Kind != OpMessage {
		return refuse("a customer cannot do that")
	}
	switch op.Kind {
	case OpCc:
		if _, err := NormalizeEmail(op.Value); err != nil {
			return refuse("not an email address")
		}
	case OpPriority:
		pr, err := ParsePriority(op.Value)
		if err != nil {
			return refuse("unknown priority (use low, normal, high or emergency)")
		}
		p.priority = pr
	case OpStatus:
		st, err := ParseStatus(op.Value)
		if err != nil {
			return refuse("unknown status (use open, resolved or closed)")
		}
		p.status = st
	case OpAssign:
		if strings.TrimSpace(op.Value) == "" {
			return p, nil
		}
		a, err := FindAgent(ctx, t.tx, op.Value)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return p, err
		}
		if err != nil || !a.Active {
			return refuse("there is no agent of that name, username or address")
		}
		p.id = a.ID
	case OpTransfer:
		d, err := FindDepartment(ctx, t.tx, op.Value)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return p, err
		}
		if err != nil || !d.Active {
			return refuse("there is no department of that name")
		}
		p.id = d.ID
		if op.Message != nil && strings.TrimSpace(op.Message.Body) == "" {
			p.Message = nil // an empty note is no note
		}
	case OpReply, OpNote:
		if op.Message == nil || strings.TrimSpace(op.Message.Body) == "" {
			return refuse("it has no text")
		}
	case OpMessage:
		// A customer's mail is kept whatever it says: an empty one still
		// tells the agents that the customer wrote.
		if op.Message == nil {
			return p, fmt.Errorf("ticket: %w: a customer message without a message", ErrInvalid)
		}
	case OpUnverified:
		if op.Message == nil || actor.Kind != ActorSystem || actor.Email == "" {
			return p, fmt.Errorf("ticket: %w: an unverified mail needs its message and an Unverified actor", ErrInvalid)
		}
	default:
		return p, fmt.Errorf("ticket: %w: change %q", ErrInvalid, op.Kind)
	}
	return p, nil
}

// do writes one checked change.
func (t *Tx) do(ctx context.Context, tk *Ticket, actor Actor, p planned) error {
	message := func(kind MessageKind) Message {
		m := *p.Message
		m.Kind, m.Author = kind, actor
		return m
	}
	switch p.Kind {
	case OpCc:
		_, err := t.AddCollaborator(ctx, tk, actor, Contact{Email: p.Value})
		return err
	case OpPriority:
		return t.SetPriority(ctx, tk, actor, p.priority)
	case OpAssign:
		return t.Assign(ctx, tk, actor, p.id)
	case OpTransfer:
		var note *Message
		if p.Message != nil {
			m := message(KindNote)
			note = &m
		}
		return t.Transfer(ctx, tk, actor, p.id, note)
	case OpReply:
		_, err := t.AddMessage(ctx, tk, message(KindReply))
		return err
	case OpNote:
		_, err := t.AddMessage(ctx, tk, message(KindNote))
		return err
	case OpMessage:
		_, err := t.AddMessage(ctx, tk, message(KindCustomer))
		return err
	case OpUnverified:
		stored, err := t.insertMessage(ctx, tk, message(KindNote))
		if err != nil {
			return err
		}
		_, err = t.record(ctx, tk, Event{Actor: actor, Action: ActionUnverifiedMail, New: actor.Email, Detail: p.Value}, stored)
		return err
	case OpStatus:
		return t.SetStatus(ctx, tk, actor, p.status)
	}
	return fmt.Errorf("ticket: %w: change %q", ErrInvalid, p.Kind)
}
