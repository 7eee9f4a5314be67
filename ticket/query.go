package ticket

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Get loads a ticket by public number, without locking it.
func (s *Store) Get(ctx context.Context, number string) (*Ticket, error) {
	tk, err := scanTicket(s.pool.QueryRow(ctx, ticketSelect+` WHERE t.number = $1`,
		strings.ToUpper(strings.TrimSpace(number))))
	if err != nil {
		return nil, notFound(err, "ticket "+number)
	}
	return tk, nil
}

// ListFilter narrows List. Zero values match everything.
type ListFilter struct {
	Status     Status
	Department string // name, any case
	Limit      int    // default 100
}

// List returns tickets, most recently updated first.
func (s *Store) List(ctx context.Context, f ListFilter) ([]*Ticket, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.pool.Query(ctx, ticketSelect+`
		 WHERE ($1 = '' OR t.status = $1) AND ($2 = '' OR lower(d.name) = lower($2))
		 ORDER BY t.updated_at DESC, t.id DESC
		 LIMIT $3`, string(f.Status), strings.TrimSpace(f.Department), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("ticket: list: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Ticket, error) { return scanTicket(r) })
}

// Collaborators lists the contacts copied on a ticket.
func Collaborators(ctx context.Context, q Querier, ticketID int64) ([]Contact, error) {
	rows, err := q.Query(ctx, `
		SELECT c.email, c.name FROM collaborators x JOIN customers c ON c.id = x.customer_id
		 WHERE x.ticket_id = $1 ORDER BY x.created_at, c.email`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket: collaborators of %d: %w", ticketID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Contact, error) {
		var c Contact
		return c, r.Scan(&c.Email, &c.Name)
	})
}

// Notice is an outbound mail as the ticket history shows it.
type Notice struct {
	ID        int64
	MessageID string
	Template  string
	Recipient string
	Subject   string
	State     string
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
	EventID   int64
}

// Entry is one item of a ticket's history: an event (with the message it
// wrote, if any) or a notice that went out.
type Entry struct {
	At      time.Time
	Event   *Event
	Message *Message
	Notice  *Notice
	Now     Names // the event's names as they are today, read through its ids
}

// History returns everything that happened to a ticket, in time order.
func (s *Store) History(ctx context.Context, ticketID int64) ([]Entry, error) {
	msgs, err := s.messages(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, historySelect, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket: history of %d: %w", ticketID, err)
	}
	type named struct {
		Event
		now Names
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (named, error) {
		var e named
		var actor Actor
		err := r.Scan(&e.ID, &e.At, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name,
			&e.Action, &e.Old, &e.New, &e.Detail, &e.MessageID, &e.OldID, &e.NewID,
			&actor.Name, &actor.Email, &e.now.Old, &e.now.New)
		if actor.Name != "" {
			e.now.Actor = actor.String()
		}
		e.TicketID = ticketID
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("ticket: history of %d: %w", ticketID, err)
	}
	var out []Entry
	for i := range events {
		e := &events[i].Event
		out = append(out, Entry{At: e.At, Event: e, Message: msgs[e.MessageID], Now: events[i].now})
	}
	rows, err = s.pool.Query(ctx, `
		SELECT id, message_id, template, recipient, subject, state, attempts, last_error,
		       created_at, sent_at, coalesce(event_id, 0)
		  FROM outbound_mails WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket: notices of %d: %w", ticketID, err)
	}
	notices, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.ID, &n.MessageID, &n.Template, &n.Recipient, &n.Subject, &n.State, &n.Attempts,
			&n.LastError, &n.CreatedAt, &n.SentAt, &n.EventID)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("ticket: notices of %d: %w", ticketID, err)
	}
	for i := range notices {
		out = append(out, Entry{At: notices[i].CreatedAt, Notice: &notices[i]})
	}
	// Stable: events before the notices they caused when times tie.
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// historySelect reads a ticket's events with the names of their agents and
// departments as they are now; "" where an event has no id to read through.
const historySelect = `
	SELECT e.id, e.created_at, e.actor_kind, coalesce(e.actor_agent_id, e.actor_customer_id, 0), e.actor_name,
	       e.action, e.old_value, e.new_value, e.detail, coalesce(e.message_id, 0),
	       coalesce(e.old_agent_id, e.old_department_id, 0), coalesce(e.new_agent_id, e.new_department_id, 0),
	       coalesce(actor.name, ''), coalesce(actor.email, ''),
	       coalesce(oa.name, od.name, ''), coalesce(na.name, nd.name, '')
	  FROM ticket_events e
	  LEFT JOIN agents actor ON actor.id = e.actor_agent_id
	  LEFT JOIN agents oa ON oa.id = e.old_agent_id
	  LEFT JOIN agents na ON na.id = e.new_agent_id
	  LEFT JOIN departments od ON od.id = e.old_department_id
	  LEFT JOIN departments nd ON nd.id = e.new_department_id
	 WHERE e.ticket_id = $1 ORDER BY e.id`

func (s *Store) messages(ctx context.Context, ticketID int64) (map[int64]*Message, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, kind, CASE WHEN author_agent_id IS NOT NULL THEN 'agent'
		                      WHEN author_customer_id IS NOT NULL THEN 'customer' ELSE 'system' END,
		       coalesce(author_agent_id, author_customer_id, 0), author_name, author_email,
		       body, CASE WHEN full_text = '' THEN body ELSE full_text END, html, message_id, in_reply_to, "references", coalesce(inbound_mail_id, 0), created_at
		  FROM messages WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket: messages of %d: %w", ticketID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Message, error) {
		m := &Message{TicketID: ticketID}
		err := r.Scan(&m.ID, &m.Kind, &m.Author.Kind, &m.Author.ID, &m.Author.Name, &m.Author.Email,
			&m.Body, &m.FullText, &m.HTML, &m.MessageID, &m.InReplyTo, &m.References, &m.InboundMailID, &m.CreatedAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("ticket: messages of %d: %w", ticketID, err)
	}
	byID := make(map[int64]*Message, len(list))
	for _, m := range list {
		byID[m.ID] = m
	}
	arows, err := s.pool.Query(ctx, `
		SELECT a.id, a.message_id, a.filename, a.content_type, a.size, encode(a.sha256, 'hex'), a.inline, a.content_id
		  FROM attachments a JOIN messages m ON m.id = a.message_id
		 WHERE m.ticket_id = $1 ORDER BY a.id`, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket: attachments of %d: %w", ticketID, err)
	}
	defer arows.Close()
	for arows.Next() {
		var a Attachment
		var mid int64
		if err := arows.Scan(&a.ID, &mid, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Inline, &a.ContentID); err != nil {
			return nil, fmt.Errorf("ticket: attachments of %d: %w", ticketID, err)
		}
		if m := byID[mid]; m != nil {
			m.Attachments = append(m.Attachments, a)
		}
	}
	return byID, arows.Err()
}
