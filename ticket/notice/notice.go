// Package notice is the policy of who hears of a ticket change: from the
// changes of one transaction it plans the notices to send, each a template
// name, a recipient and what the notice is about. It decides nothing about
// how a notice looks or travels: the mailer renders the planned notices
// from the templates and queues them in the ticket outbox, in the same
// transaction.
//
// The rules: nobody is told of their own action (but for the
// acknowledgement of the mail that opened a ticket), customers never see
// an internal note, a quiet change tells no customer, our own mailboxes are
// never mailed, and each agent gets one mail per transaction, about its
// most important change.
package notice

import (
	"context"
	"strings"
	"time"

	"github.com/postdesk/postdesk/ticket"
)

// Recipient kinds, as the outbox stores them.
const (
	KindCustomer     = "customer"
	KindCollaborator = "collaborator"
	KindAgent        = "agent"
	KindDepartment   = "department"
	KindOther        = "other" // an address a preview was asked for
)

// Recipient is one address a notice goes to.
type Recipient struct {
	Name   string
	Email  string
	Kind   string // KindCustomer, KindCollaborator, KindAgent, KindDepartment or KindOther
	ID     int64  // agent id, or customer id for customers and collaborators
	Secret []byte // the agent's reply-address secret
}

// IsAgent reports whether the recipient works the tickets: an agent or a
// department's address.
func (r Recipient) IsAgent() bool { return r.Kind == KindAgent || r.Kind == KindDepartment }

// Change is one field a transaction changed, as the agents' notices list it.
type Change struct {
	Field string // Status, Assignee, Department, Priority, Collaborator
	Old   string
	New   string
}

// Original is the agent's mail that a direct answer replies to.
type Original struct {
	Subject string
	Date    time.Time
}

// Notice is one mail to one recipient, planned and not yet rendered.
type Notice struct {
	Template string         // a templates name
	Ticket   *ticket.Ticket // nil for mail about no ticket
	EventID  int64          // the event that caused it; 0 for none
	To       Recipient
	Actor    ticket.Actor    // who made the change
	Message  *ticket.Message // the message the notice shows, if any
	Attach   bool            // copy the message's attachments into the mail
	Note     string          // the transfer note
	Previous string          // the value before: the previous assignee or department
	Changes  []Change        // every field the transaction changed
	// Automatic: no person wrote this mail (the per-recipient cap may
	// hold it back). AnswersMail: it is an automatic answer to the
	// recipient's own mail (Auto-Submitted: auto-replied, not
	// auto-generated).
	Automatic   bool
	AnswersMail bool
	// Set for the answers to an agent's own mail (ticket.Tx.Answer).
	Direct    bool
	Original  Original
	Error     string
	InReplyTo string // the agent's mail's Message-ID
	Mailbox   string // the address the agent wrote to
	Link      string // agent_sign_in_link: the one-time sign-in URL
}

// Switches turns a department's notices on or off.
type Switches struct {
	CustomerAck      bool
	CustomerReply    bool
	CustomerResolved bool
	CustomerClosed   bool
	AgentNewTicket   bool
	AgentNewMessage  bool
	AgentAssigned    bool
	AgentTransfer    bool
	AgentNote        bool
	AgentResolved    bool
}

// DefaultSwitches is every notice on except the closure notice.
func DefaultSwitches() Switches {
	return Switches{CustomerAck: true, CustomerReply: true, CustomerResolved: true,
		AgentNewTicket: true, AgentNewMessage: true, AgentAssigned: true, AgentTransfer: true,
		AgentNote: true, AgentResolved: true}
}

// Planner plans the notices of changes. It is safe for concurrent use.
type Planner struct {
	departments map[string]Switches
	mailboxes   map[string]bool
}

// NewPlanner returns a planner. departments holds the switches by
// lower-case department name (a department missing there gets
// DefaultSwitches); mailboxes are our own addresses, never mailed: mail
// sent there would come back in as a new ticket.
func NewPlanner(departments map[string]Switches, mailboxes []string) *Planner {
	p := &Planner{departments: departments, mailboxes: map[string]bool{}}
	for _, m := range mailboxes {
		p.mailboxes[strings.ToLower(strings.TrimSpace(m))] = true
	}
	return p
}

func (p *Planner) switches(department string) Switches {
	if s, ok := p.departments[strings.ToLower(strings.TrimSpace(department))]; ok {
		return s
	}
	return DefaultSwitches()
}

// IsOurs reports whether addr is one of our mailboxes or a +tag of one.
func (p *Planner) IsOurs(addr string) bool {
	a := strings.ToLower(strings.TrimSpace(addr))
	if p.mailboxes[a] {
		return true
	}
	local, domain, found := strings.Cut(a, "@")
	if !found {
		return false
	}
	if i := strings.IndexByte(local, '+'); i >= 0 {
		return p.mailboxes[local[:i]+"@"+domain]
	}
	return false
}

// Plan returns the notices that changes cause, in the order they are to be
// queued: the answers to agents' mail first, as they happened, then each
// ticket's notices, tickets in order of appearance. It reads the people to
// tell in tx, the transaction that made the changes.
func (p *Planner) Plan(ctx context.Context, tx *ticket.Tx, changes []ticket.Change) ([]Notice, error) {
	return p.plan(ctx, tx.DB(), changes)
}

func (p *Planner) plan(ctx context.Context, q ticket.Querier, changes []ticket.Change) ([]Notice, error) {
	var out []Notice
	for _, c := range changes {
		if c.Answer == nil {
			continue
		}
		nt, err := p.answer(*c.Answer)
		if err != nil {
			return nil, err
		}
		out = append(out, nt)
	}
	for _, group := range byTicket(changes) {
		planned, err := p.planTicket(ctx, q, group)
		if err != nil {
			return nil, err
		}
		out = append(out, planned...)
	}
	// An address muted on a ticket (the loop guard) gets no more answers to
	// its mail and, on the customer's side, no notices about the ticket. An
	// agent's alerts still come: a loop of forgeries in an agent's name
	// must not cut the agent off the ticket.
	kept := out[:0]
	for _, nt := range out {
		if nt.Ticket.IsMuted(nt.To.Email) && (nt.Direct || !nt.To.IsAgent()) {
			continue
		}
		kept = append(kept, nt)
	}
	return kept, nil
}

// byTicket splits the ticket changes into per-ticket groups, in order of
// appearance.
func byTicket(changes []ticket.Change) [][]ticket.Change {
	var order []int64
	groups := map[int64][]ticket.Change{}
	for _, c := range changes {
		if c.Ticket == nil || c.Answer != nil {
			continue
		}
		id := c.Ticket.ID
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], c)
	}
	out := make([][]ticket.Change, 0, len(order))
	for _, id := range order {
		out = append(out, groups[id])
	}
	return out
}
