package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
)

// NewTicket describes a ticket to open.
type NewTicket struct {
	Subject       string
	Customer      Contact
	DepartmentID  int64
	HelpTopicID   int64 // 0 for none
	Priority      Priority
	MailboxID     int64   // 0 when opened outside a mailbox
	Message       Message // the first message; its author defaults to the customer
	Collaborators []Contact
}

const ticketSelect = `
	SELECT t.id, t.number, t.subject, t.status, t.priority,
	       t.department_id, d.name,
	       coalesce(t.assignee_id, 0), coalesce(a.name, ''), coalesce(a.email, ''),
	       coalesce(t.help_topic_id, 0), coalesce(h.name, ''),
	       t.customer_id, c.name, c.email,
	       coalesce(t.mailbox_id, 0), coalesce(m.name, ''), coalesce(m.address, ''),
	       t.created_at, t.updated_at, t.resolved_at, t.closed_at, t.muted
	  FROM tickets t
	  JOIN departments d ON d.id = t.department_id
	  JOIN customers c ON c.id = t.customer_id
	  LEFT JOIN agents a ON a.id = t.assignee_id
	  LEFT JOIN help_topics h ON h.id = t.help_topic_id
	  LEFT JOIN mailboxes m ON m.id = t.mailbox_id`

// openedSelect is ticketSelect over the row a statement has just inserted
// (the CTE "opened"), which the statement cannot read from tickets itself.
var openedSelect = strings.Replace(ticketSelect, "FROM tickets t", "FROM opened t", 1)

type scanner interface{ Scan(dest ...any) error }

func scanTicket(row scanner) (*Ticket, error) {
	var tk Ticket
	err := row.Scan(&tk.ID, &tk.Number, &tk.Subject, &tk.Status, &tk.Priority,
		&tk.DepartmentID, &tk.DepartmentName,
		&tk.AssigneeID, &tk.AssigneeName, &tk.AssigneeEmail,
		&tk.HelpTopicID, &tk.HelpTopicName,
		&tk.CustomerID, &tk.CustomerName, &tk.CustomerEmail,
		&tk.MailboxID, &tk.MailboxName, &tk.MailboxAddress,
		&tk.CreatedAt, &tk.UpdatedAt, &tk.ResolvedAt, &tk.ClosedAt, &tk.Muted)
	if err != nil {
		return nil, err
	}
	return &tk, nil
}

// NormalizeEmail checks an address and returns it trimmed, without name or
// angle brackets, the domain in lower case.
func NormalizeEmail(addr string) (string, error) {
	a, err := mail.ParseAddress(strings.TrimSpace(addr))
	if err != nil {
		return "", fmt.Errorf("%w: email address %q: %v", ErrInvalid, addr, err)
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" {
		return "", fmt.Errorf("%w: email address %q has no domain", ErrInvalid, addr)
	}
	return local + "@" + strings.ToLower(domain), nil
}

// UpsertContact returns the customer record for c, creating it when new and
// filling in a missing name.
func (t *Tx) UpsertContact(ctx context.Context, c Contact) (id int64, out Contact, err error) {
	email, err := NormalizeEmail(c.Email)
	if err != nil {
		return 0, out, err
	}
	// A known customer whose name needs no filling in is only read: the
	// upsert would lock the row until commit and make every other mail
	// from the same person wait for this transaction.
	err = t.tx.QueryRow(ctx, `
		WITH known AS (
		    SELECT id, email, name FROM customers
		     WHERE lower(email) = lower($1::text) AND (name <> '' OR $2::text = '')
		), upsert AS (
		    INSERT INTO customers (email, name) SELECT $1::text, $2::text WHERE NOT EXISTS (SELECT 1 FROM known)
		    ON CONFLICT ((lower(email))) DO UPDATE
		       SET name = CASE WHEN customers.name = '' THEN EXCLUDED.name ELSE customers.name END
		    RETURNING id, email, name
		)
		SELECT id, email, name FROM known UNION ALL SELECT id, email, name FROM upsert`,
		email, Clean(strings.TrimSpace(c.Name))).Scan(&id, &out.Email, &out.Name)
	if err != nil {
		return 0, out, fmt.Errorf("ticket: contact %s: %w", email, err)
	}
	return id, out, nil
}

// Open creates a ticket with its first message and collaborators.
func (t *Tx) Open(ctx context.Context, nt NewTicket) (*Ticket, *Message, error) {
	nt.Subject = Clean(strings.TrimSpace(nt.Subject))
	if nt.Subject == "" {
		nt.Subject = "(no subject)"
	}
	if nt.Priority == "" {
		nt.Priority = PriorityNormal
	}
	if _, err := ParsePriority(string(nt.Priority)); err != nil {
		return nil, nil, fmt.Errorf("ticket: open: %w", err)
	}
	customerID, customer, err := t.UpsertContact(ctx, nt.Customer)
	if err != nil {
		return nil, nil, fmt.Errorf("ticket: open: customer: %w", err)
	}
	var tk *Ticket
	for attempt := 0; ; attempt++ {
		number, err := t.store.numbers.New()
		if err != nil {
			return nil, nil, err
		}
		// ON CONFLICT keeps the transaction usable when a number is taken.
		// The new row is read back, joined as Lock reads it, in the same
		// statement.
		tk, err = scanTicket(t.tx.QueryRow(ctx, `
			WITH opened AS (
			    INSERT INTO tickets (number, subject, priority, department_id, help_topic_id, customer_id, mailbox_id)
			    VALUES ($1, $2, $3, $4, $5, $6, $7)
			    ON CONFLICT (number) DO NOTHING
			    RETURNING *
			)`+openedSelect,
			number, nt.Subject, nt.Priority, nt.DepartmentID,
			nullID(nt.HelpTopicID), customerID, nullID(nt.MailboxID)))
		if err == nil {
			break
		}
		if !isNoRows(err) {
			return nil, nil, fmt.Errorf("ticket: open for %s: %w", customer.Email, err)
		}
		if attempt == 20 {
			return nil, nil, fmt.Errorf("ticket: open: no free ticket number after %d tries; make numbers longer", attempt+1)
		}
	}
	if err := t.claimed(tk.ID); err != nil {
		return nil, nil, err
	}
	t.count(countKeyOf(tk), +1)
	msg := nt.Message
	msg.Kind = KindCustomer
	if msg.Author.Kind == "" {
		msg.Author = Actor{Kind: ActorCustomer, ID: customerID, Name: customer.Name, Email: customer.Email}
	}
	stored, err := t.insertMessage(ctx, tk, msg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := t.record(ctx, tk, Event{Actor: msg.Author, Action: ActionOpened, New: tk.Number,
		Detail: tk.Subject}, stored); err != nil {
		return nil, nil, err
	}
	if err := t.addCollaborators(ctx, tk, msg.Author, nt.Collaborators, 0); err != nil {
		return nil, nil, err
	}
	return tk, stored, nil
}

// AddCopied adds the contacts a customer's follow-up copied (its To and
// Cc) as collaborators of tk, within the store's cap on collaborators per
// ticket, counting those it has; the others are listed in a note.
func (t *Tx) AddCopied(ctx context.Context, tk *Ticket, actor Actor, contacts []Contact) error {
	if len(contacts) == 0 {
		return nil
	}
	have, err := Collaborators(ctx, t.tx, tk.ID)
	if err != nil {
		return fmt.Errorf("ticket: %s: %w", tk.Number, err)
	}
	known := map[string]bool{strings.ToLower(tk.CustomerEmail): true}
	for _, c := range have {
		known[strings.ToLower(c.Email)] = true
	}
	var fresh []Contact
	for _, c := range contacts {
		if !known[strings.ToLower(strings.TrimSpace(c.Email))] {
			fresh = append(fresh, c)
		}
	}
	return t.addCollaborators(ctx, tk, actor, fresh, len(have))
}

// notedCollaborators bounds the addresses the note about a capped Cc lists.
const notedCollaborators = 100

// addCollaborators adds the contacts a mail copied, up to the store's cap
// less the have the ticket has: anyone can put hundreds of strangers in a
// Cc, and each collaborator is mailed every public reply. The addresses
// over the cap are listed in an internal note for the agents, not added.
func (t *Tx) addCollaborators(ctx context.Context, tk *Ticket, actor Actor, contacts []Contact, have int) error {
	var over []string
	added, seen := have, map[string]bool{}
	for _, c := range contacts {
		email, err := NormalizeEmail(c.Email)
		if err != nil || seen[strings.ToLower(email)] {
			continue
		}
		seen[strings.ToLower(email)] = true
		if added >= t.store.maxCc {
			over = append(over, email)
			continue
		}
		ok, err := t.AddCollaborator(ctx, tk, actor, c)
		if err != nil {
			return err
		}
		if ok {
			added++
		}
	}
	if len(over) == 0 {
		return nil
	}
	listed := over[:min(len(over), notedCollaborators)]
	body := fmt.Sprintf("Not added as collaborators (a ticket takes at most %d from a mail's Cc): %s",
		t.store.maxCc, strings.Join(listed, ", "))
	if n := len(over) - len(listed); n > 0 {
		body += fmt.Sprintf(", and %d more", n)
	}
	_, err := t.AddMessage(ctx, tk, Message{Kind: KindNote, Body: body, Author: System("postdesk")})
	return err
}

// Lock loads a ticket by id and locks its row until the transaction ends, so
// that concurrent changes to one ticket apply one after the other.
func (t *Tx) Lock(ctx context.Context, id int64) (*Ticket, error) {
	return t.load(ctx, id, true)
}

// LockNumber is Lock by public ticket number.
func (t *Tx) LockNumber(ctx context.Context, number string) (*Ticket, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `SELECT id FROM tickets WHERE number = $1`,
		strings.ToUpper(strings.TrimSpace(number))).Scan(&id)
	if err != nil {
		return nil, notFound(err, "ticket "+number)
	}
	return t.load(ctx, id, true)
}

func (t *Tx) load(ctx context.Context, id int64, lock bool) (*Ticket, error) {
	if lock {
		if err := t.claimed(id); err != nil {
			return nil, err
		}
		// Lock the bare row first: a FOR UPDATE over the joined select would
		// re-check the join against stale rows after a concurrent transfer
		// and find nothing.
		if _, err := t.tx.Exec(ctx, `SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE`, id); err != nil {
			return nil, fmt.Errorf("ticket %d: lock: %w", id, err)
		}
	}
	tk, err := scanTicket(t.tx.QueryRow(ctx, ticketSelect+` WHERE t.id = $1`, id))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("ticket %d", id))
	}
	return tk, nil
}

// AddMessage adds a customer message, public reply or internal note to a
// locked ticket. A customer message on a resolved or closed ticket reopens it.
func (t *Tx) AddMessage(ctx context.Context, tk *Ticket, msg Message) (*Message, error) {
	var action Action
	switch msg.Kind {
	case KindCustomer:
		action = ActionCustomerMessage
	case KindReply:
		action = ActionReplied
	case KindNote:
		action = ActionNoted
	default:
		return nil, fmt.Errorf("ticket: %s: %w: message kind %q", tk.Number, ErrInvalid, msg.Kind)
	}
	if msg.Kind != KindCustomer && msg.Author.Kind == ActorCustomer {
		return nil, fmt.Errorf("ticket: %s: %w: a customer cannot write a %s", tk.Number, ErrNotAllowed, msg.Kind)
	}
	stored, err := t.insertMessage(ctx, tk, msg)
	if err != nil {
		return nil, err
	}
	if _, err := t.record(ctx, tk, Event{Actor: msg.Author, Action: action}, stored); err != nil {
		return nil, err
	}
	if msg.Kind == KindCustomer && tk.Status != StatusOpen {
		if err := t.setStatus(ctx, tk, msg.Author, StatusOpen, "reopened by a customer message"); err != nil {
			return nil, err
		}
	}
	return stored, nil
}

func (t *Tx) insertMessage(ctx context.Context, tk *Ticket, msg Message) (*Message, error) {
	var agentID, customerID *int64
	switch msg.Author.Kind {
	case ActorAgent:
		agentID = nullID(msg.Author.ID)
	case ActorCustomer:
		customerID = nullID(msg.Author.ID)
	}
	msg.Body, msg.FullText, msg.HTML = Clean(msg.Body), Clean(msg.FullText), Clean(msg.HTML)
	msg.Author.Name, msg.MessageID = Clean(msg.Author.Name), Clean(msg.MessageID)
	msg.InReplyTo, msg.References = cleanAll(msg.InReplyTo), cleanAll(msg.References)
	if msg.FullText == "" {
		msg.FullText = msg.Body
	}
	// An empty full_text stores "the same as body" (most new mails have no
	// quoted history), so that the text is not written twice.
	fullText := msg.FullText
	if fullText == msg.Body {
		fullText = ""
	}
	msg.TicketID = tk.ID
	err := t.tx.QueryRow(ctx, `
		INSERT INTO messages (ticket_id, kind, author_agent_id, author_customer_id, author_name, author_email,
		                      body, full_text, html, message_id, in_reply_to, "references", inbound_mail_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		RETURNING id, created_at`,
		tk.ID, msg.Kind, agentID, customerID, msg.Author.Name, msg.Author.Email,
		msg.Body, fullText, msg.HTML, msg.MessageID, nonNil(msg.InReplyTo), nonNil(msg.References),
		nullID(msg.InboundMailID)).Scan(&msg.ID, &msg.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("ticket: %s: add %s: %w", tk.Number, msg.Kind, err)
	}
	for i := range msg.Attachments {
		if err := t.insertAttachment(ctx, msg.ID, &msg.Attachments[i]); err != nil {
			return nil, fmt.Errorf("ticket: %s: attachment %q: %w", tk.Number, msg.Attachments[i].Filename, err)
		}
	}
	return &msg, nil
}

// insertAttachment stores the content once per distinct hash and links it.
func (t *Tx) insertAttachment(ctx context.Context, messageID int64, a *Attachment) error {
	sum := sha256.Sum256(a.Content)
	a.SHA256 = hex.EncodeToString(sum[:])
	a.Size = int64(len(a.Content))
	a.Filename, a.ContentType, a.ContentID = Clean(a.Filename), Clean(a.ContentType), Clean(a.ContentID)
	if a.ContentType == "" {
		a.ContentType = "application/octet-stream"
	}
	if len(a.Content) > StreamAbove {
		// A big file goes by COPY (stage.go), and only when it is new.
		var known bool
		if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)`, sum[:]).Scan(&known); err != nil {
			return err
		}
		if !known {
			if err := t.StageBytes(ctx, a.Content); err != nil {
				return err
			}
			if _, err := t.tx.Exec(ctx, `
				WITH staged AS (DELETE FROM `+StageTable+` RETURNING value)
				INSERT INTO blobs (sha256, size, content) SELECT $1, $2, staged.value FROM staged
				ON CONFLICT (sha256) DO NOTHING`, sum[:], a.Size); err != nil {
				return err
			}
		}
	} else if _, err := t.tx.Exec(ctx, `
		INSERT INTO blobs (sha256, size, content) VALUES ($1, $2, $3)
		ON CONFLICT (sha256) DO NOTHING`, sum[:], a.Size, a.Content); err != nil {
		return err
	}
	return t.tx.QueryRow(ctx, `
		INSERT INTO attachments (message_id, filename, content_type, size, sha256, inline, content_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		messageID, a.Filename, a.ContentType, a.Size, sum[:], a.Inline, a.ContentID).Scan(&a.ID)
}

// Assign gives a locked ticket to an agent; agentID 0 unassigns it.
func (t *Tx) Assign(ctx context.Context, tk *Ticket, actor Actor, agentID int64) error {
	if agentID == tk.AssigneeID {
		return nil
	}
	var name, email string
	if agentID != 0 {
		var active bool
		err := t.tx.QueryRow(ctx, `SELECT name, email, active FROM agents WHERE id = $1`, agentID).
			Scan(&name, &email, &active)
		if err != nil {
			return notFound(err, fmt.Sprintf("ticket: %s: assign: agent %d", tk.Number, agentID))
		}
		if !active {
			return fmt.Errorf("ticket: %s: assign: %w: agent %s is not active", tk.Number, ErrNotAllowed, name)
		}
	}
	if _, err := t.tx.Exec(ctx, `UPDATE tickets SET assignee_id = $2 WHERE id = $1`, tk.ID, nullID(agentID)); err != nil {
		return fmt.Errorf("ticket: %s: assign: %w", tk.Number, err)
	}
	ev := Event{Actor: actor, Action: ActionAssigned, Old: tk.AssigneeName, New: name, OldID: tk.AssigneeID, NewID: agentID}
	before := countKeyOf(tk)
	tk.AssigneeID, tk.AssigneeName, tk.AssigneeEmail = agentID, name, email
	t.counted(before, tk)
	_, err := t.record(ctx, tk, ev, nil)
	return err
}

// Transfer moves a locked ticket to another department, optionally with an
// internal note that travels with the transfer notice.
func (t *Tx) Transfer(ctx context.Context, tk *Ticket, actor Actor, departmentID int64, note *Message) error {
	if departmentID == tk.DepartmentID {
		if note != nil {
			_, err := t.AddMessage(ctx, tk, *note)
			return err
		}
		return nil
	}
	var name string
	var active bool
	err := t.tx.QueryRow(ctx, `SELECT name, active FROM departments WHERE id = $1`, departmentID).Scan(&name, &active)
	if err != nil {
		return notFound(err, fmt.Sprintf("ticket: %s: transfer: department %d", tk.Number, departmentID))
	}
	if !active {
		return fmt.Errorf("ticket: %s: transfer: %w: department %s is not active", tk.Number, ErrNotAllowed, name)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE tickets SET department_id = $2 WHERE id = $1`, tk.ID, departmentID); err != nil {
		return fmt.Errorf("ticket: %s: transfer: %w", tk.Number, err)
	}
	var stored *Message
	ev := Event{Actor: actor, Action: ActionTransferred, Old: tk.DepartmentName, New: name,
		OldID: tk.DepartmentID, NewID: departmentID}
	if note != nil {
		n := *note
		n.Kind = KindNote
		if stored, err = t.insertMessage(ctx, tk, n); err != nil {
			return err
		}
		ev.Detail = stored.Body
	}
	before := countKeyOf(tk)
	tk.DepartmentID, tk.DepartmentName = departmentID, name
	t.counted(before, tk)
	_, err = t.record(ctx, tk, ev, stored)
	return err
}

// SetPriority changes a locked ticket's priority.
func (t *Tx) SetPriority(ctx context.Context, tk *Ticket, actor Actor, p Priority) error {
	if _, err := ParsePriority(string(p)); err != nil {
		return fmt.Errorf("ticket: %s: %w", tk.Number, err)
	}
	if p == tk.Priority {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `UPDATE tickets SET priority = $2 WHERE id = $1`, tk.ID, p); err != nil {
		return fmt.Errorf("ticket: %s: priority: %w", tk.Number, err)
	}
	old := tk.Priority
	tk.Priority = p
	_, err := t.record(ctx, tk, Event{Actor: actor, Action: ActionPriority, Old: string(old), New: string(p)}, nil)
	return err
}

// SetStatus resolves, closes or reopens a locked ticket.
func (t *Tx) SetStatus(ctx context.Context, tk *Ticket, actor Actor, s Status) error {
	if _, err := ParseStatus(string(s)); err != nil {
		return fmt.Errorf("ticket: %s: %w", tk.Number, err)
	}
	return t.setStatus(ctx, tk, actor, s, "")
}

func (t *Tx) setStatus(ctx context.Context, tk *Ticket, actor Actor, s Status, detail string) error {
	if s == tk.Status {
		return nil
	}
	before := countKeyOf(tk)
	err := t.tx.QueryRow(ctx, `
		UPDATE tickets
		   SET status = $2,
		       resolved_at = CASE $2 WHEN 'resolved' THEN clock_timestamp() WHEN 'open' THEN NULL ELSE resolved_at END,
		       closed_at = CASE $2 WHEN 'closed' THEN clock_timestamp() ELSE NULL END
		 WHERE id = $1
		RETURNING resolved_at, closed_at`, tk.ID, s).Scan(&tk.ResolvedAt, &tk.ClosedAt)
	if err != nil {
		return fmt.Errorf("ticket: %s: status: %w", tk.Number, err)
	}
	old := tk.Status
	tk.Status = s
	t.counted(before, tk)
	_, err = t.record(ctx, tk, Event{Actor: actor, Action: ActionStatus, Old: string(old), New: string(s), Detail: detail}, nil)
	return err
}

// AddCollaborator copies a contact on a locked ticket's public conversation.
// It reports whether the contact was added (false when already there or when
// it is the ticket's customer).
func (t *Tx) AddCollaborator(ctx context.Context, tk *Ticket, actor Actor, c Contact) (bool, error) {
	id, contact, err := t.UpsertContact(ctx, c)
	if err != nil {
		return false, fmt.Errorf("ticket: %s: collaborator: %w", tk.Number, err)
	}
	if id == tk.CustomerID {
		return false, nil
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO collaborators (ticket_id, customer_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, tk.ID, id)
	if err != nil {
		return false, fmt.Errorf("ticket: %s: collaborator %s: %w", tk.Number, contact.Email, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	_, err = t.record(ctx, tk, Event{Actor: actor, Action: ActionCollaborator, New: contact.Email}, nil)
	return err == nil, err
}

// Record writes a history event that changes no field, such as a delivery
// failure or a refused command.
func (t *Tx) Record(ctx context.Context, tk *Ticket, ev Event) (Event, error) {
	return t.record(ctx, tk, ev, nil)
}

// Clean makes text storable: valid UTF-8 without NUL bytes, which
// PostgreSQL's text type refuses. Mail can carry both.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

func cleanAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = Clean(s)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
