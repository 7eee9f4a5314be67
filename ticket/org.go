package ticket

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Department is a team that works tickets.
type Department struct {
	ID       int64
	Name     string
	Email    string
	Active   bool
	Settings json.RawMessage
}

// Agent is a member of staff.
type Agent struct {
	ID          int64
	Name        string
	Email       string
	Username    string
	Active      bool
	Secret      []byte // signs the agent's reply addresses
	Departments []string
}

// HelpTopic classifies a request and routes it to a department.
type HelpTopic struct {
	ID           int64
	Name         string
	DepartmentID int64
	Priority     Priority
}

// Mailbox is an address postdesk receives mail for, with its routing
// defaults and IMAP poller state.
type Mailbox struct {
	ID              int64
	Name            string
	Address         string
	DisplayName     string
	Kind            string
	Settings        json.RawMessage
	DepartmentID    int64
	HelpTopicID     int64
	Priority        Priority // "" when the mailbox sets none
	IMAPUIDValidity uint32
	IMAPLastUID     uint32
}

// Org is the organisation as configured, synced into the database at start.
type Org struct {
	Departments []DepartmentSpec
	Agents      []AgentSpec
	HelpTopics  []HelpTopicSpec
	Mailboxes   []MailboxSpec
}

// DepartmentSpec configures a department.
type DepartmentSpec struct {
	Name     string
	Email    string
	Settings any // stored as JSON
}

// AgentSpec configures an agent. Departments are names.
type AgentSpec struct {
	Name        string
	Email       string
	Username    string
	Active      bool
	Departments []string
}

// HelpTopicSpec configures a help topic.
type HelpTopicSpec struct {
	Name       string
	Department string
	Priority   Priority
}

// MailboxSpec configures a mailbox. Department and HelpTopic are names.
type MailboxSpec struct {
	Name        string
	Address     string
	DisplayName string
	Kind        string
	Department  string
	HelpTopic   string
	Priority    Priority
	Settings    any // connection settings without secrets, stored as JSON
}

// SyncOrg makes the database's organisation match org. It is idempotent:
// a second run with the same org changes nothing. Departments, agents, help
// topics and mailboxes missing from org are deactivated, never deleted, as
// tickets still refer to them. Agents keep their signing secret.
func (s *Store) SyncOrg(ctx context.Context, org Org) error {
	return s.InTx(ctx, func(t *Tx) error {
		// Several processes start at once: one syncs, the others wait.
		if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('postdesk.sync_org'))`); err != nil {
			return fmt.Errorf("ticket: sync lock: %w", err)
		}
		return t.syncOrg(ctx, org)
	})
}

func (t *Tx) syncOrg(ctx context.Context, org Org) error {
	depts := map[string]int64{}
	for _, d := range org.Departments {
		settings, err := jsonOf(d.Settings)
		if err != nil {
			return fmt.Errorf("ticket: department %s: %w", d.Name, err)
		}
		var id int64
		err = t.tx.QueryRow(ctx, `
			INSERT INTO departments (name, email, settings) VALUES ($1, $2, $3)
			ON CONFLICT ((lower(name))) DO UPDATE
			   SET name = EXCLUDED.name, email = EXCLUDED.email, settings = EXCLUDED.settings, active = true,
			       updated_at = CASE WHEN (departments.name, departments.email, departments.settings, departments.active)
			                         IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email, EXCLUDED.settings, true)
			                         THEN now() ELSE departments.updated_at END
			RETURNING id`, d.Name, d.Email, settings).Scan(&id)
		if err != nil {
			return fmt.Errorf("ticket: department %s: %w", d.Name, err)
		}
		depts[strings.ToLower(d.Name)] = id
	}
	if _, err := t.tx.Exec(ctx, `UPDATE departments SET active = false WHERE active AND NOT (id = ANY($1))`,
		values(depts)); err != nil {
		return fmt.Errorf("ticket: deactivate departments: %w", err)
	}
	deptID := func(name string) (int64, error) {
		if name == "" {
			return 0, nil
		}
		id, ok := depts[strings.ToLower(name)]
		if !ok {
			return 0, fmt.Errorf("%w: department %q is not configured", ErrNotFound, name)
		}
		return id, nil
	}

	agents := map[string]int64{}
	for _, a := range org.Agents {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return fmt.Errorf("ticket: agent secret: %w", err)
		}
		username := a.Username
		if username == "" {
			username, _, _ = strings.Cut(a.Email, "@")
		}
		var id int64
		err := t.tx.QueryRow(ctx, `
			INSERT INTO agents (name, email, username, active, secret) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT ((lower(email))) DO UPDATE
			   SET name = EXCLUDED.name, email = EXCLUDED.email, username = EXCLUDED.username, active = EXCLUDED.active,
			       updated_at = CASE WHEN (agents.name, agents.email, agents.username, agents.active)
			                         IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email, EXCLUDED.username, EXCLUDED.active)
			                         THEN now() ELSE agents.updated_at END
			RETURNING id`, a.Name, a.Email, username, a.Active, secret).Scan(&id)
		if err != nil {
			return fmt.Errorf("ticket: agent %s: %w", a.Email, err)
		}
		agents[strings.ToLower(a.Email)] = id
		ids := make([]int64, 0, len(a.Departments))
		for _, name := range a.Departments {
			did, err := deptID(name)
			if err != nil {
				return fmt.Errorf("ticket: agent %s: %w", a.Email, err)
			}
			ids = append(ids, did)
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM agent_departments WHERE agent_id = $1 AND NOT (department_id = ANY($2))`,
			id, ids); err != nil {
			return fmt.Errorf("ticket: agent %s: %w", a.Email, err)
		}
		if _, err := t.tx.Exec(ctx, `
			INSERT INTO agent_departments (agent_id, department_id) SELECT $1, unnest($2::bigint[])
			ON CONFLICT DO NOTHING`, id, ids); err != nil {
			return fmt.Errorf("ticket: agent %s: %w", a.Email, err)
		}
	}
	if _, err := t.tx.Exec(ctx, `UPDATE agents SET active = false, updated_at = now() WHERE active AND NOT (id = ANY($1))`,
		values(agents)); err != nil {
		return fmt.Errorf("ticket: deactivate agents: %w", err)
	}

	topics := map[string]int64{}
	for _, h := range org.HelpTopics {
		did, err := deptID(h.Department)
		if err != nil {
			return fmt.Errorf("ticket: help topic %s: %w", h.Name, err)
		}
		p := h.Priority
		if p == "" {
			p = PriorityNormal
		}
		var id int64
		err = t.tx.QueryRow(ctx, `
			INSERT INTO help_topics (name, department_id, priority) VALUES ($1, $2, $3)
			ON CONFLICT ((lower(name))) DO UPDATE
			   SET name = EXCLUDED.name, department_id = EXCLUDED.department_id,
			       priority = EXCLUDED.priority, active = true
			RETURNING id`, h.Name, did, p).Scan(&id)
		if err != nil {
			return fmt.Errorf("ticket: help topic %s: %w", h.Name, err)
		}
		topics[strings.ToLower(h.Name)] = id
	}
	if _, err := t.tx.Exec(ctx, `UPDATE help_topics SET active = false WHERE active AND NOT (id = ANY($1))`,
		values(topics)); err != nil {
		return fmt.Errorf("ticket: deactivate help topics: %w", err)
	}

	boxes := map[string]int64{}
	for _, m := range org.Mailboxes {
		did, err := deptID(m.Department)
		if err != nil {
			return fmt.Errorf("ticket: mailbox %s: %w", m.Name, err)
		}
		var tid int64
		if m.HelpTopic != "" {
			var ok bool
			if tid, ok = topics[strings.ToLower(m.HelpTopic)]; !ok {
				return fmt.Errorf("ticket: mailbox %s: %w: help topic %q is not configured", m.Name, ErrNotFound, m.HelpTopic)
			}
		}
		settings, err := jsonOf(m.Settings)
		if err != nil {
			return fmt.Errorf("ticket: mailbox %s: %w", m.Name, err)
		}
		var prio *Priority
		if m.Priority != "" {
			prio = &m.Priority
		}
		var id int64
		err = t.tx.QueryRow(ctx, `
			INSERT INTO mailboxes (name, address, display_name, kind, settings, department_id, help_topic_id, priority)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (name) DO UPDATE
			   SET address = EXCLUDED.address, display_name = EXCLUDED.display_name, kind = EXCLUDED.kind,
			       settings = EXCLUDED.settings, department_id = EXCLUDED.department_id,
			       help_topic_id = EXCLUDED.help_topic_id, priority = EXCLUDED.priority, active = true
			RETURNING id`, m.Name, m.Address, m.DisplayName, m.Kind, settings, nullID(did), nullID(tid), prio).Scan(&id)
		if err != nil {
			return fmt.Errorf("ticket: mailbox %s: %w", m.Name, err)
		}
		boxes[m.Name] = id
	}
	if _, err := t.tx.Exec(ctx, `UPDATE mailboxes SET active = false WHERE active AND NOT (id = ANY($1))`,
		values(boxes)); err != nil {
		return fmt.Errorf("ticket: deactivate mailboxes: %w", err)
	}
	return nil
}

func jsonOf(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(v)
}

func values(m map[string]int64) []int64 {
	out := make([]int64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

const agentSelect = `
	SELECT a.id, a.name, a.email, a.username, a.active, a.secret,
	       coalesce(array_agg(d.name ORDER BY d.name) FILTER (WHERE d.id IS NOT NULL), '{}')
	  FROM agents a
	  LEFT JOIN agent_departments ad ON ad.agent_id = a.id
	  LEFT JOIN departments d ON d.id = ad.department_id`

func scanAgent(row scanner) (Agent, error) {
	var a Agent
	err := row.Scan(&a.ID, &a.Name, &a.Email, &a.Username, &a.Active, &a.Secret, &a.Departments)
	return a, err
}

// Querier is what read queries need: a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// FindAgent finds an active or inactive agent by email address or username.
func FindAgent(ctx context.Context, q Querier, emailOrUsername string) (Agent, error) {
	key := strings.TrimSpace(emailOrUsername)
	a, err := scanAgent(q.QueryRow(ctx, agentSelect+`
		 WHERE lower(a.email) = lower($1) OR lower(a.username) = lower($1) OR lower(a.name) = lower($1)
		 GROUP BY a.id
		 ORDER BY (lower(a.email) = lower($1)) DESC, (lower(a.username) = lower($1)) DESC
		 LIMIT 1`, key))
	if err != nil {
		return Agent{}, notFound(err, fmt.Sprintf("agent %q", key))
	}
	return a, nil
}

// AgentByID loads an agent.
func AgentByID(ctx context.Context, q Querier, id int64) (Agent, error) {
	a, err := scanAgent(q.QueryRow(ctx, agentSelect+` WHERE a.id = $1 GROUP BY a.id`, id))
	if err != nil {
		return Agent{}, notFound(err, fmt.Sprintf("agent %d", id))
	}
	return a, nil
}

// DepartmentAgents lists the active agents of a department.
func DepartmentAgents(ctx context.Context, q Querier, departmentID int64) ([]Agent, error) {
	rows, err := q.Query(ctx, agentSelect+`
		 WHERE a.active AND a.id IN (SELECT agent_id FROM agent_departments WHERE department_id = $1)
		 GROUP BY a.id ORDER BY a.name`, departmentID)
	if err != nil {
		return nil, fmt.Errorf("ticket: agents of department %d: %w", departmentID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Agent, error) { return scanAgent(r) })
}

// DepartmentAndAgents loads a department and its active agents (as
// DepartmentAgents lists them) in one statement.
func DepartmentAndAgents(ctx context.Context, q Querier, id int64) (Department, []Agent, error) {
	rows, err := q.Query(ctx, `
		SELECT dep.id, dep.name, dep.email, dep.active, dep.settings,
		       ag.id IS NOT NULL, ag.id, ag.name, ag.email, ag.username, ag.active, ag.secret, ag.departments
		  FROM departments dep
		  LEFT JOIN LATERAL (
		        SELECT a.id, a.name, a.email, a.username, a.active, a.secret,
		               coalesce(array_agg(d.name ORDER BY d.name) FILTER (WHERE d.id IS NOT NULL), '{}') AS departments
		          FROM agents a
		          LEFT JOIN agent_departments ad ON ad.agent_id = a.id
		          LEFT JOIN departments d ON d.id = ad.department_id
		         WHERE a.active AND a.id IN (SELECT agent_id FROM agent_departments WHERE department_id = dep.id)
		         GROUP BY a.id) ag ON true
		 WHERE dep.id = $1
		 ORDER BY ag.name`, id)
	if err != nil {
		return Department{}, nil, fmt.Errorf("ticket: department %d and its agents: %w", id, err)
	}
	defer rows.Close()
	var d Department
	var agents []Agent
	found := false
	for rows.Next() {
		var a struct {
			ID                    *int64
			Name, Email, Username *string
			Active                *bool
			Secret                []byte
			Departments           []string
		}
		var hasAgent bool
		if err := rows.Scan(&d.ID, &d.Name, &d.Email, &d.Active, &d.Settings,
			&hasAgent, &a.ID, &a.Name, &a.Email, &a.Username, &a.Active, &a.Secret, &a.Departments); err != nil {
			return Department{}, nil, fmt.Errorf("ticket: department %d and its agents: %w", id, err)
		}
		found = true
		if hasAgent {
			agents = append(agents, Agent{ID: *a.ID, Name: *a.Name, Email: *a.Email, Username: *a.Username,
				Active: *a.Active, Secret: a.Secret, Departments: a.Departments})
		}
	}
	if err := rows.Err(); err != nil {
		return Department{}, nil, fmt.Errorf("ticket: department %d and its agents: %w", id, err)
	}
	if !found {
		return Department{}, nil, fmt.Errorf("department %d: %w", id, ErrNotFound)
	}
	return d, agents, nil
}

// FindDepartment finds a department by name, ignoring case.
func FindDepartment(ctx context.Context, q Querier, name string) (Department, error) {
	var d Department
	err := q.QueryRow(ctx, `SELECT id, name, email, active, settings FROM departments WHERE lower(name) = lower($1)`,
		strings.TrimSpace(name)).Scan(&d.ID, &d.Name, &d.Email, &d.Active, &d.Settings)
	if err != nil {
		return d, notFound(err, fmt.Sprintf("department %q", name))
	}
	return d, nil
}

// DepartmentByID loads a department.
func DepartmentByID(ctx context.Context, q Querier, id int64) (Department, error) {
	var d Department
	err := q.QueryRow(ctx, `SELECT id, name, email, active, settings FROM departments WHERE id = $1`, id).
		Scan(&d.ID, &d.Name, &d.Email, &d.Active, &d.Settings)
	if err != nil {
		return d, notFound(err, fmt.Sprintf("department %d", id))
	}
	return d, nil
}

// FindHelpTopic finds an active help topic by name, ignoring case.
func FindHelpTopic(ctx context.Context, q Querier, name string) (HelpTopic, error) {
	var h HelpTopic
	err := q.QueryRow(ctx, `SELECT id, name, department_id, priority FROM help_topics
		 WHERE lower(name) = lower($1) AND active`, strings.TrimSpace(name)).
		Scan(&h.ID, &h.Name, &h.DepartmentID, &h.Priority)
	if err != nil {
		return h, notFound(err, fmt.Sprintf("help topic %q", name))
	}
	return h, nil
}

// HelpTopicByID loads a help topic.
func HelpTopicByID(ctx context.Context, q Querier, id int64) (HelpTopic, error) {
	var h HelpTopic
	err := q.QueryRow(ctx, `SELECT id, name, department_id, priority FROM help_topics WHERE id = $1`, id).
		Scan(&h.ID, &h.Name, &h.DepartmentID, &h.Priority)
	if err != nil {
		return h, notFound(err, fmt.Sprintf("help topic %d", id))
	}
	return h, nil
}

const mailboxSelect = `
	SELECT id, name, address, display_name, kind, settings, coalesce(department_id, 0),
	       coalesce(help_topic_id, 0), coalesce(priority, ''), coalesce(imap_uidvalidity, 0), imap_last_uid
	  FROM mailboxes`

func scanMailbox(row scanner) (Mailbox, error) {
	var m Mailbox
	var validity, last int64
	err := row.Scan(&m.ID, &m.Name, &m.Address, &m.DisplayName, &m.Kind, &m.Settings, &m.DepartmentID,
		&m.HelpTopicID, &m.Priority, &validity, &last)
	m.IMAPUIDValidity, m.IMAPLastUID = uint32(validity), uint32(last)
	return m, err
}

// Mailboxes lists the active mailboxes.
func Mailboxes(ctx context.Context, q Querier) ([]Mailbox, error) {
	rows, err := q.Query(ctx, mailboxSelect+` WHERE active ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("ticket: mailboxes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Mailbox, error) { return scanMailbox(r) })
}

// FindMailbox finds an active mailbox by name.
func FindMailbox(ctx context.Context, q Querier, name string) (Mailbox, error) {
	m, err := scanMailbox(q.QueryRow(ctx, mailboxSelect+` WHERE name = $1 AND active`, name))
	if err != nil {
		return m, notFound(err, fmt.Sprintf("mailbox %q", name))
	}
	return m, nil
}
