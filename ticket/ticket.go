// Package ticket owns postdesk's domain: tickets, their messages, history and
// the organisation that works them, stored in PostgreSQL.
//
// Every change runs in one database transaction (Store.InTx) that locks the
// ticket row, writes the change and its history event, and hands the events to
// a Notifier that enqueues the notices in the same transaction. A change that
// rolls back therefore leaves no trace and sends nothing.
//
// An actor's changes come in by one door, Tx.Apply (Store.Apply on its own):
// an agent's mail commands, the command line's ticket commands and a
// customer's mail all name their changes as Ops, which Apply checks, looks
// up and makes in one order, or refuses as a whole with a *Refusal.
package ticket

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound   = errors.New("not found")
	ErrInvalid    = errors.New("invalid")
	ErrNotAllowed = errors.New("not allowed")
)

// Status is a ticket's life-cycle state.
type Status string

// Ticket statuses.
const (
	StatusOpen     Status = "open"
	StatusResolved Status = "resolved"
	StatusClosed   Status = "closed"
)

// ParseStatus accepts a status name in any case.
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(strings.TrimSpace(s))); st {
	case StatusOpen, StatusResolved, StatusClosed:
		return st, nil
	}
	return "", fmt.Errorf("%w: unknown status %q (want open, resolved or closed)", ErrInvalid, s)
}

// Priority orders the work.
type Priority string

// Ticket priorities, lowest first.
const (
	PriorityLow       Priority = "low"
	PriorityNormal    Priority = "normal"
	PriorityHigh      Priority = "high"
	PriorityEmergency Priority = "emergency"
)

// ParsePriority accepts a priority name in any case.
func ParsePriority(s string) (Priority, error) {
	switch p := Priority(strings.ToLower(strings.TrimSpace(s))); p {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityEmergency:
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown priority %q (want low, normal, high or emergency)", ErrInvalid, s)
}

// Ticket is one customer request with the names of what it refers to.
type Ticket struct {
	ID             int64
	Number         string
	Subject        string
	Status         Status
	Priority       Priority
	DepartmentID   int64
	DepartmentName string
	AssigneeID     int64 // 0 when unassigned
	AssigneeName   string
	AssigneeEmail  string
	HelpTopicID    int64 // 0 when none
	HelpTopicName  string
	CustomerID     int64
	CustomerName   string
	CustomerEmail  string
	MailboxID      int64 // 0 when opened outside a mailbox
	MailboxName    string
	MailboxAddress string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ResolvedAt     *time.Time
	ClosedAt       *time.Time
	// Muted lists the addresses (lower case) no notice about this ticket
	// goes to: each answered our notices like a machine in a loop.
	Muted []string
}

// IsMuted reports whether notices about the ticket to addr are stopped.
func (tk *Ticket) IsMuted(addr string) bool {
	return tk != nil && slices.Contains(tk.Muted, strings.ToLower(strings.TrimSpace(addr)))
}

// MessageKind tells who may see a message.
type MessageKind string

// Message kinds.
const (
	KindCustomer MessageKind = "customer" // written by the customer or a collaborator
	KindReply    MessageKind = "reply"    // public agent reply, sent to the customer
	KindNote     MessageKind = "note"     // internal note, agents only
)

// ActorKind says what kind of party performed a change.
type ActorKind string

// Actor kinds.
const (
	ActorCustomer ActorKind = "customer"
	ActorAgent    ActorKind = "agent"
	ActorSystem   ActorKind = "system"
)

// Actor is who performed a change. ID is the agent's or customer's id.
type Actor struct {
	Kind  ActorKind
	ID    int64
	Name  string
	Email string
}

// System is the actor for changes made by postdesk itself or an admin's CLI.
func System(name string) Actor { return Actor{Kind: ActorSystem, Name: name} }

// AgentActor is the actor for an agent's change.
func AgentActor(a Agent) Actor {
	return Actor{Kind: ActorAgent, ID: a.ID, Name: a.Name, Email: a.Email}
}

// Unverified is the actor of a mail that came from agent a's address but
// did not prove it came from a: anybody may have written it. It is never
// the agent: its events and message carry no agent id, and its name says
// whom it claimed to be.
func Unverified(a Agent) Actor {
	return Actor{Kind: ActorSystem, Name: "unverified sender claiming to be " + a.Name, Email: a.Email}
}

// String names the actor for history listings.
func (a Actor) String() string {
	switch {
	case a.Name != "" && a.Email != "":
		return fmt.Sprintf("%s <%s>", a.Name, a.Email)
	case a.Email != "":
		return a.Email
	case a.Name != "":
		return a.Name
	}
	return string(a.Kind)
}

// Contact is a person outside the organisation, known by email address.
type Contact struct {
	Email string
	Name  string
}

// Attachment is a file carried by a message. Size and SHA256 are computed
// from Content when the attachment is stored.
type Attachment struct {
	ID          int64
	Filename    string
	ContentType string
	Size        int64
	SHA256      string // hex
	Inline      bool
	ContentID   string
	Content     []byte
}

// Message is one entry in a ticket's conversation.
type Message struct {
	ID            int64
	TicketID      int64
	Kind          MessageKind
	Author        Actor
	Body          string // what the ticket shows: the new text, quotes removed
	FullText      string // the whole text as received
	HTML          string // sanitized HTML, when the mail had one
	MessageID     string // RFC 5322 Message-ID, without angle brackets
	InReplyTo     []string
	References    []string
	InboundMailID int64 // 0 when it did not arrive by mail
	Attachments   []Attachment
	CreatedAt     time.Time
}

// Action names a kind of history event.
type Action string

// History actions.
const (
	ActionOpened          Action = "opened"
	ActionCustomerMessage Action = "customer_message"
	ActionReplied         Action = "replied"
	ActionNoted           Action = "noted"
	ActionAssigned        Action = "assigned"
	ActionTransferred     Action = "transferred"
	ActionPriority        Action = "priority_changed"
	ActionStatus          Action = "status_changed"
	ActionCollaborator    Action = "collaborator_added"
	ActionDeliveryFailed  Action = "delivery_failed"
	ActionAutoReply       Action = "auto_reply_received"
	ActionCommandRefused  Action = "command_refused"
	ActionThreadRefused   Action = "thread_refused"
	// ActionMailReplayed: a mail kept in quarantine was replayed onto the
	// ticket (New: the stored mail's id; Detail: when it came and why it
	// was held).
	ActionMailReplayed Action = "mail_replayed"
	// ActionUnverifiedMail: a mail from an agent's address that did not
	// prove it came from the agent (Actor: Unverified; New: the address;
	// Detail: why, and what became of it). It changed nothing else.
	ActionUnverifiedMail Action = "unverified_mail"
	// ActionMuted: an address answered our notices on the ticket like a
	// machine in a loop and gets none any more (New: the address; Detail:
	// why).
	ActionMuted Action = "muted"
)

// Event is one line of a ticket's history.
type Event struct {
	ID        int64
	TicketID  int64
	At        time.Time
	Actor     Actor
	Action    Action
	Old       string
	New       string
	OldID     int64 // the agent (assigned) or department (transferred) Old names; 0 for none
	NewID     int64 // the same for New: the names stay as written, the ids say whom they meant
	Detail    string
	MessageID int64 // the message this event wrote, if any
}
