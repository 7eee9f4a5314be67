package notice

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/ticket"
)

func agentRecipient(a ticket.Agent) Recipient {
	return Recipient{Name: a.Name, Email: a.Email, Kind: KindAgent, ID: a.ID, Secret: a.Secret}
}

// customer returns the ticket's customer.
func customer(tk *ticket.Ticket) Recipient {
	return Recipient{Name: tk.CustomerName, Email: tk.CustomerEmail, Kind: KindCustomer, ID: tk.CustomerID}
}

// customerSide returns the ticket's customer and its collaborators.
func customerSide(ctx context.Context, q ticket.Querier, tk *ticket.Ticket) ([]Recipient, error) {
	out := []Recipient{customer(tk)}
	// ticket.Collaborators does not return ids, and the signed reply
	// address of a collaborator needs one.
	rows, err := q.Query(ctx, `
		SELECT c.id, c.email, c.name FROM collaborators x JOIN customers c ON c.id = x.customer_id
		 WHERE x.ticket_id = $1 ORDER BY x.created_at, c.email`, tk.ID)
	if err != nil {
		return nil, fmt.Errorf("notice: collaborators of %s: %w", tk.Number, err)
	}
	collabs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recipient, error) {
		rc := Recipient{Kind: KindCollaborator}
		return rc, r.Scan(&rc.ID, &rc.Email, &rc.Name)
	})
	if err != nil {
		return nil, fmt.Errorf("notice: collaborators of %s: %w", tk.Number, err)
	}
	return append(out, collabs...), nil
}

// department returns the active agents of a department and its notice
// address, if it has one.
func department(ctx context.Context, q ticket.Querier, id int64) ([]Recipient, error) {
	d, agents, err := ticket.DepartmentAndAgents(ctx, q, id)
	if err != nil {
		return nil, fmt.Errorf("notice: %w", err)
	}
	out := make([]Recipient, 0, len(agents)+1)
	for _, a := range agents {
		out = append(out, agentRecipient(a))
	}
	if d.Email != "" {
		out = append(out, Recipient{Name: d.Name, Email: d.Email, Kind: KindDepartment})
	}
	return out, nil
}

// activeAgent returns agent id as a recipient; ok is false for an inactive
// or missing agent.
func activeAgent(ctx context.Context, q ticket.Querier, id int64) (r Recipient, ok bool, err error) {
	if id == 0 {
		return r, false, nil
	}
	a, err := ticket.AgentByID(ctx, q, id)
	if err != nil {
		return r, false, fmt.Errorf("notice: %w", err)
	}
	return agentRecipient(a), a.Active, nil
}

// assigneeOrDepartment is who hears about a ticket: its assignee, or the
// department when nobody (active) has it.
func assigneeOrDepartment(ctx context.Context, q ticket.Querier, tk *ticket.Ticket) ([]Recipient, error) {
	a, ok, err := activeAgent(ctx, q, tk.AssigneeID)
	if err != nil {
		return nil, err
	}
	if ok {
		return []Recipient{a}, nil
	}
	return department(ctx, q, tk.DepartmentID)
}

// workers returns the active agents who worked a ticket: its assignee,
// earlier assignees, and the authors of its replies and notes.
func workers(ctx context.Context, q ticket.Querier, tk *ticket.Ticket) ([]Recipient, error) {
	// Earlier assignees come from the assignment events' agent ids
	// (migration 00006), so a renamed agent or a namesake changes nothing.
	rows, err := q.Query(ctx, `
		SELECT id FROM agents a
		 WHERE a.active AND (
		       a.id = $2
		    OR a.id IN (SELECT author_agent_id FROM messages
		                 WHERE ticket_id = $1 AND kind IN ('reply', 'note') AND author_agent_id IS NOT NULL)
		    OR a.id IN (SELECT e.new_agent_id FROM ticket_events e
		                 WHERE e.ticket_id = $1 AND e.action = 'assigned' AND e.new_agent_id IS NOT NULL))
		 ORDER BY id`, tk.ID, tk.AssigneeID)
	if err != nil {
		return nil, fmt.Errorf("notice: agents of %s: %w", tk.Number, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("notice: agents of %s: %w", tk.Number, err)
	}
	out := make([]Recipient, 0, len(ids))
	for _, id := range ids {
		r, ok, err := activeAgent(ctx, q, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}
