package notice

import (
	"context"
	"strings"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// reason is why an agent is told: one change of the transaction.
type reason struct {
	template string
	change   *ticket.Change
	message  *ticket.Message
	note     string
	previous string
}

// agentPriority orders the reasons to tell an agent about one
// transaction: each agent gets one mail, about the most important one, that
// lists every change.
func agentPriority(template string) int {
	for i, t := range []string{templates.AgentNewTicket, templates.AgentTransfer, templates.AgentAssigned,
		templates.AgentResolved, templates.AgentNewMessage, templates.AgentNote} {
		if t == template {
			return i
		}
	}
	return 100
}

// txSummary is what one ticket's changes in one transaction amount to.
type txSummary struct {
	tk          *ticket.Ticket
	quiet       bool
	opened      *ticket.Change
	replies     []*ticket.Change
	customer    []*ticket.Change // customer_message
	unverified  []*ticket.Change // unverified_mail: from an agent's address, proving nothing
	notes       []*ticket.Change
	status      *ticket.Change // the last status change
	assign      [2]*ticket.Change
	transfer    [2]*ticket.Change // first and last
	lastMessage *ticket.Message
	changes     []Change
	// collaborated: the transaction copied someone on the ticket.
	collaborated bool
}

func summarize(group []ticket.Change) txSummary {
	// The last change carries the ticket as the transaction leaves it.
	s := txSummary{tk: group[len(group)-1].Ticket}
	for i := range group {
		c := &group[i]
		s.quiet = s.quiet || c.Quiet
		if c.Message != nil {
			s.lastMessage = c.Message
		}
		ev := c.Event
		switch ev.Action {
		case ticket.ActionOpened:
			s.opened = c
		case ticket.ActionCustomerMessage:
			s.customer = append(s.customer, c)
		case ticket.ActionUnverifiedMail:
			s.unverified = append(s.unverified, c)
		case ticket.ActionReplied:
			s.replies = append(s.replies, c)
		case ticket.ActionNoted:
			s.notes = append(s.notes, c)
		case ticket.ActionStatus:
			s.status = c
			s.changes = append(s.changes, Change{Field: "Status", Old: ev.Old, New: ev.New})
		case ticket.ActionAssigned:
			if s.assign[0] == nil {
				s.assign[0] = c
			}
			s.assign[1] = c
			s.changes = append(s.changes, Change{Field: "Assignee", Old: ev.Old, New: ev.New})
		case ticket.ActionTransferred:
			if s.transfer[0] == nil {
				s.transfer[0] = c
			}
			s.transfer[1] = c
			s.changes = append(s.changes, Change{Field: "Department", Old: ev.Old, New: ev.New})
		case ticket.ActionPriority:
			s.changes = append(s.changes, Change{Field: "Priority", Old: ev.Old, New: ev.New})
		case ticket.ActionCollaborator:
			s.collaborated = true
			s.changes = append(s.changes, Change{Field: "Collaborator", New: ev.New})
		}
	}
	return s
}

// endsIn reports whether the transaction set the ticket to status st and
// left it there.
func (s txSummary) endsIn(st ticket.Status) bool {
	return s.status != nil && s.status.Event.New == string(st) && s.tk.Status == st
}

// planTicket decides who is told what about one ticket's changes.
func (p *Planner) planTicket(ctx context.Context, q ticket.Querier, group []ticket.Change) ([]Notice, error) {
	s := summarize(group)
	sw := p.switches(s.tk.DepartmentName)
	cust, err := p.planCustomers(ctx, q, s, sw)
	if err != nil {
		return nil, err
	}
	agents, err := p.planAgents(ctx, q, s, sw)
	if err != nil {
		return nil, err
	}
	return append(cust, agents...), nil
}

func (p *Planner) planCustomers(ctx context.Context, q ticket.Querier, s txSummary, sw Switches) ([]Notice, error) {
	// Quiet: the change came from an auto-reply or bounce, or an admin
	// asked for silence. Customers hear nothing at all.
	if s.quiet {
		return nil, nil
	}
	var out []Notice
	var people []Recipient
	add := func(nt Notice, ownAction bool) error {
		switch {
		case people != nil:
		case s.opened != nil && !s.collaborated:
			// Opened by this transaction, which copied nobody on it: the
			// customer is the whole customer side.
			people = []Recipient{customer(s.tk)}
		default:
			var err error
			if people, err = customerSide(ctx, q, s.tk); err != nil {
				return err
			}
		}
		// Customers never see an internal note, whatever the template does.
		if nt.Message != nil && nt.Message.Kind == ticket.KindNote {
			nt.Message, nt.Attach = nil, false
		}
		to := people
		if ownAction {
			// The acknowledgement answers the opener's own mail, so it
			// goes to the customer alone: a Cc naming strangers must not
			// make us mail them the sender's text (reflection spam).
			// Collaborators hear of the replies that follow.
			to = []Recipient{customer(s.tk)}
		}
		for _, r := range dedupe(to) {
			// The acknowledgement is the one notice a person gets about
			// their own action.
			if !ownAction && isActor(r, nt.Actor) {
				continue
			}
			if p.IsOurs(r.Email) {
				continue
			}
			nt.To = r
			out = append(out, nt)
		}
		return nil
	}
	base := func(template string, c *ticket.Change) Notice {
		return Notice{Template: template, Ticket: s.tk, EventID: c.Event.ID, Actor: c.Event.Actor, Automatic: true}
	}
	if s.opened != nil && sw.CustomerAck {
		nt := base(templates.CustomerAck, s.opened)
		nt.Message, nt.AnswersMail = s.opened.Message, true
		if err := add(nt, true); err != nil {
			return nil, err
		}
	}
	replies := s.replies
	for _, st := range []struct {
		status   ticket.Status
		template string
		on       bool
	}{{ticket.StatusResolved, templates.CustomerResolved, sw.CustomerResolved},
		{ticket.StatusClosed, templates.CustomerClosed, sw.CustomerClosed}} {
		if !st.on || !s.endsIn(st.status) {
			continue
		}
		nt := base(st.template, s.status)
		// A reply that comes with the resolution goes out as one mail:
		// the resolution notice carrying the reply, written by a person.
		if len(replies) > 0 {
			last := replies[len(replies)-1]
			replies = replies[:len(replies)-1]
			nt.Message, nt.Attach = last.Message, true
			nt.Automatic = false
		}
		if err := add(nt, false); err != nil {
			return nil, err
		}
	}
	if sw.CustomerReply {
		for _, c := range replies {
			nt := base(templates.CustomerReply, c)
			nt.Message, nt.Attach = c.Message, true
			nt.Automatic = false
			if err := add(nt, false); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (p *Planner) planAgents(ctx context.Context, q ticket.Querier, s txSummary, sw Switches) ([]Notice, error) {
	type target struct {
		r       Recipient
		reasons []reason
	}
	var order []string
	targets := map[string]*target{}
	add := func(rs []Recipient, why reason) {
		for _, r := range rs {
			key := strings.ToLower(r.Email)
			if isActor(r, why.change.Event.Actor) || p.IsOurs(r.Email) {
				continue
			}
			t, ok := targets[key]
			if !ok {
				t = &target{r: r}
				targets[key] = t
				order = append(order, key)
			} else if t.r.Kind == KindDepartment && r.Kind == KindAgent {
				t.r = r // an agent address also listed as a department address
			}
			t.reasons = append(t.reasons, why)
		}
	}
	tk := s.tk
	if s.opened != nil && sw.AgentNewTicket {
		rs, err := department(ctx, q, tk.DepartmentID)
		if err != nil {
			return nil, err
		}
		add(rs, reason{template: templates.AgentNewTicket, change: s.opened, message: s.opened.Message})
	}
	if len(s.customer) > 0 && sw.AgentNewMessage {
		rs, err := assigneeOrDepartment(ctx, q, tk)
		if err != nil {
			return nil, err
		}
		for _, c := range s.customer {
			add(rs, reason{template: templates.AgentNewMessage, change: c, message: c.Message})
		}
	}
	if len(s.unverified) > 0 && sw.AgentNewMessage {
		// Told as of new mail, whose author is named as the unverified
		// sender it is. The agent it claimed to be is its actor (by
		// address) and hears of it by the answer to the mail instead; when
		// that agent has the ticket, its department is told.
		rs, err := assigneeOrDepartment(ctx, q, tk)
		if err != nil {
			return nil, err
		}
		if len(rs) == 1 && rs[0].Kind == KindAgent && isActor(rs[0], s.unverified[0].Event.Actor) {
			if rs, err = department(ctx, q, tk.DepartmentID); err != nil {
				return nil, err
			}
		}
		for _, c := range s.unverified {
			add(rs, reason{template: templates.AgentNewMessage, change: c, message: c.Message})
		}
	}
	if len(s.notes) > 0 && sw.AgentNote {
		rs, err := department(ctx, q, tk.DepartmentID)
		if err != nil {
			return nil, err
		}
		if a, ok, err := activeAgent(ctx, q, tk.AssigneeID); err != nil {
			return nil, err
		} else if ok {
			rs = append([]Recipient{a}, rs...)
		}
		for _, c := range s.notes {
			add(rs, reason{template: templates.AgentNote, change: c, message: c.Message})
		}
	}
	if s.assign[1] != nil && sw.AgentAssigned {
		// Told is whoever has the ticket at the end of the transaction.
		a, ok, err := activeAgent(ctx, q, tk.AssigneeID)
		if err != nil {
			return nil, err
		}
		if ok {
			add([]Recipient{a}, reason{template: templates.AgentAssigned, change: s.assign[1], previous: s.assign[0].Event.Old})
		}
	}
	if s.transfer[1] != nil && sw.AgentTransfer {
		rs, err := department(ctx, q, tk.DepartmentID)
		if err != nil {
			return nil, err
		}
		var notes []string
		for _, c := range []*ticket.Change{s.transfer[0], s.transfer[1]} {
			if c.Event.Detail != "" && (len(notes) == 0 || notes[len(notes)-1] != c.Event.Detail) {
				notes = append(notes, c.Event.Detail)
			}
		}
		add(rs, reason{template: templates.AgentTransfer, change: s.transfer[1],
			note: strings.Join(notes, "\n\n"), previous: s.transfer[0].Event.Old})
	}
	if s.endsIn(ticket.StatusResolved) && sw.AgentResolved {
		rs, err := workers(ctx, q, tk)
		if err != nil {
			return nil, err
		}
		add(rs, reason{template: templates.AgentResolved, change: s.status})
	}

	out := make([]Notice, 0, len(order))
	for _, key := range order {
		t := targets[key]
		best := t.reasons[0]
		for _, r := range t.reasons[1:] {
			if agentPriority(r.template) < agentPriority(best.template) {
				best = r
			}
		}
		msg := best.message
		if msg == nil {
			msg = s.lastMessage // e.g. the reply or note that came with a resolution
		}
		out = append(out, Notice{
			Template: best.template, Ticket: tk, EventID: best.change.Event.ID, To: t.r,
			// Agents' alerts name the files, with their sizes, and copy
			// none: a customer's 24 MB attachment is not mailed again to
			// every agent (the files stay on the ticket).
			Actor: best.change.Event.Actor, Message: msg,
			Note: best.note, Previous: best.previous, Changes: s.changes,
			Automatic: true,
		})
	}
	return out, nil
}

// isActor reports whether r is the person who made the change.
func isActor(r Recipient, a ticket.Actor) bool {
	if a.Email != "" && strings.EqualFold(r.Email, a.Email) {
		return true
	}
	switch a.Kind {
	case ticket.ActorAgent:
		return r.Kind == KindAgent && r.ID == a.ID && a.ID != 0
	case ticket.ActorCustomer:
		return (r.Kind == KindCustomer || r.Kind == KindCollaborator) && r.ID == a.ID && a.ID != 0
	}
	return false
}

// dedupe keeps the first recipient of each address.
func dedupe(rs []Recipient) []Recipient {
	seen := map[string]bool{}
	out := rs[:0:0]
	for _, r := range rs {
		key := strings.ToLower(strings.TrimSpace(r.Email))
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, r)
	}
	return out
}
