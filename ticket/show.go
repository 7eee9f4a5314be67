package ticket

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Show prints the ticket numbered number as WriteShow does, read from the
// store; ErrNotFound when there is no such ticket.
func (s *Store) Show(ctx context.Context, w io.Writer, number string) error {
	tk, err := s.Get(ctx, number)
	if err != nil {
		return err
	}
	cc, err := Collaborators(ctx, s.pool, tk.ID)
	if err != nil {
		return err
	}
	history, err := s.History(ctx, tk.ID)
	if err != nil {
		return err
	}
	return WriteShow(w, tk, s.numbers, cc, history)
}

// WriteShow prints a ticket's fields and its whole history (messages, notes,
// events and notices, in time order) for people to read.
func WriteShow(w io.Writer, tk *Ticket, numbers Numbering, collaborators []Contact, history []Entry) error {
	p := &printer{w: w}
	p.f("Ticket %s  %s\n", tk.Number, numbers.Subject(tk.Number, tk.Subject))
	field := func(name, value string) {
		if value == "" {
			value = "-"
		}
		p.f("  %-14s %s\n", name+":", value)
	}
	field("Status", string(tk.Status))
	field("Priority", string(tk.Priority))
	field("Department", tk.DepartmentName)
	field("Assignee", contactLine(tk.AssigneeName, tk.AssigneeEmail))
	field("Help topic", tk.HelpTopicName)
	field("Customer", contactLine(tk.CustomerName, tk.CustomerEmail))
	var cc []string
	for _, c := range collaborators {
		cc = append(cc, contactLine(c.Name, c.Email))
	}
	field("Collaborators", strings.Join(cc, ", "))
	if tk.MailboxName != "" {
		field("Mailbox", fmt.Sprintf("%s <%s>", tk.MailboxName, tk.MailboxAddress))
	}
	field("Created", stamp(tk.CreatedAt))
	field("Updated", stamp(tk.UpdatedAt))
	if tk.ResolvedAt != nil {
		field("Resolved", stamp(*tk.ResolvedAt))
	}
	if tk.ClosedAt != nil {
		field("Closed", stamp(*tk.ClosedAt))
	}
	p.f("\nHistory (%d entries)\n", len(history))
	for _, e := range history {
		switch {
		case e.Event != nil:
			p.f("%s  %s\n", stamp(e.At), describe(*e.Event, e.Now))
			if m := e.Message; m != nil {
				p.message(m)
			}
		case e.Notice != nil:
			n := e.Notice
			state := n.State
			if n.State == "pending" && n.Attempts > 0 {
				state = fmt.Sprintf("pending, %d attempts", n.Attempts)
			}
			p.f("%s  notice %s to %s (%s): %q\n", stamp(e.At), n.Template, n.Recipient, state, n.Subject)
			if n.LastError != "" {
				p.f("      last error: %s\n", n.LastError)
			}
		}
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) message(m *Message) {
	label := map[MessageKind]string{KindCustomer: "message", KindReply: "public reply", KindNote: "internal note"}[m.Kind]
	if m.MessageID != "" {
		label += " <" + m.MessageID + ">"
	}
	p.f("      %s:\n", label)
	body := strings.TrimRight(m.Body, "\n ")
	if body == "" {
		body = "(no text)"
	}
	for _, line := range strings.Split(body, "\n") {
		p.f("      | %s\n", strings.TrimRight(line, "\r"))
	}
	for _, a := range m.Attachments {
		kind := "attachment"
		if a.Inline {
			kind = "inline"
		}
		p.f("      %s: %s (%s, %d bytes)\n", kind, a.Filename, a.ContentType, a.Size)
	}
}

// Names are an event's actor and what its Old and New refer to, by the
// names they carry now, read through the event's ids; "" where the event
// has no id for one. History prints these, so that people read the names
// they know today, and falls back to the text stored with the event.
type Names struct {
	Actor string
	Old   string
	New   string
}

func describe(e Event, now Names) string {
	or := func(current, stored string) string {
		if current != "" {
			return current
		}
		return stored
	}
	by := " by " + or(now.Actor, e.Actor.Name)
	if by == " by " {
		by = " by " + string(e.Actor.Kind)
	}
	arrow := func(what string) string {
		old, nw := e.Old, e.New
		if e.Action == ActionAssigned || e.Action == ActionTransferred {
			old, nw = or(now.Old, old), or(now.New, nw)
		}
		if old == "" {
			old = "none"
		}
		if nw == "" {
			nw = "none"
		}
		return fmt.Sprintf("%s %s → %s", what, old, nw)
	}
	var s string
	switch e.Action {
	case ActionUnverifiedMail:
		// The actor is the point: not the agent, but whoever claimed to be.
		s, by = "mail from "+e.Actor.Name, ""
	case ActionOpened:
		s = "opened"
	case ActionCustomerMessage:
		s = "customer wrote"
	case ActionReplied:
		s = "replied"
	case ActionNoted:
		s = "internal note"
	case ActionAssigned:
		s = arrow("assigned")
	case ActionTransferred:
		s = arrow("transferred")
	case ActionPriority:
		s = arrow("priority")
	case ActionStatus:
		s = arrow("status")
	case ActionCollaborator:
		s = "collaborator added: " + e.New
	default:
		s = strings.ReplaceAll(string(e.Action), "_", " ")
		if e.New != "" {
			s += ": " + e.New
		}
	}
	s += by
	if e.Detail != "" && e.Action != ActionTransferred && e.Action != ActionOpened {
		s += " (" + e.Detail + ")"
	}
	return s
}

func contactLine(name, email string) string {
	switch {
	case email == "":
		return name
	case name == "":
		return email
	}
	return fmt.Sprintf("%s <%s>", name, email)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
