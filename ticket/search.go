package ticket

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Search finds tickets by their number, subject, message text and
// customer, in PostgreSQL: the texts carry tsvectors written in the
// statement that stores them (migration 00010), so a message can be found
// as soon as its transaction commits. A query is words (websearch syntax:
// "a phrase", or, -word) and operators:
//
//	from:jane@user.com   the customer's address or name holds it (also a fragment: from:user.com)
//	subject:balancer     the subject has the word ("subject:load balancer" in quotes for more)
//	status:open          open, resolved or closed
//	number:4711          the ticket number holds it; a bare word of digits is tried as a number too
//
// Hits are ranked, the subject counting double a message, with a snippet of
// the best message where the words stand between SnippetStart and
// SnippetStop.
type SearchQuery struct {
	Text    string // words for the full-text match
	From    string
	Subject string
	Status  Status
	Number  string
}

// Snippet markers around the words found; a page escapes the snippet and
// turns them into <mark>.
const (
	SnippetStart = "\x02"
	SnippetStop  = "\x03"
)

// SearchScope is whose tickets a search may return: all of them, or those
// of the departments and those assigned to the agent.
type SearchScope struct {
	All         bool
	Departments []int64
	AgentID     int64
}

// SearchHit is one ticket found.
type SearchHit struct {
	Number        string
	Subject       string
	Status        Status
	Priority      Priority
	Department    string
	CustomerName  string
	CustomerEmail string
	Updated       time.Time
	Rank          float64
	Snippet       string // from the best message, or "" when only fields matched
}

var operator = regexp.MustCompile(`(?i)\b(from|subject|status|number):("[^"]*"|\S+)`)

// ParseSearch reads a query as people type it.
func ParseSearch(s string) (SearchQuery, error) {
	var q SearchQuery
	var err error
	rest := operator.ReplaceAllStringFunc(s, func(m string) string {
		name, value, _ := strings.Cut(m, ":")
		value = strings.Trim(value, `"`)
		switch strings.ToLower(name) {
		case "from":
			q.From = value
		case "subject":
			q.Subject = value
		case "number":
			q.Number = strings.ToUpper(value)
		case "status":
			st, perr := ParseStatus(value)
			if perr != nil && err == nil {
				err = fmt.Errorf("%w: status:%s (use open, resolved or closed)", ErrInvalid, value)
			}
			q.Status = st
		}
		return " "
	})
	q.Text = strings.Join(strings.Fields(rest), " ")
	return q, err
}

// Search returns up to limit tickets in scope that match q, best first
// (the most recently changed first when q has no words).
func (s *Store) Search(ctx context.Context, scope SearchScope, q SearchQuery, limit int) ([]SearchHit, error) {
	return Search(ctx, s.pool, scope, q, limit)
}

// Search is Store.Search over any connection or transaction.
func Search(ctx context.Context, db Querier, scope SearchScope, q SearchQuery, limit int) ([]SearchHit, error) {
	if limit <= 0 {
		limit = 50
	}
	// A word of digits (or the numbering's prefix and digits) may be a
	// ticket number: it matches the number as well as the text.
	numberish := ""
	if w := strings.ToUpper(q.Text); q.Number == "" && !strings.ContainsAny(w, " \"") && strings.ContainsAny(w, "0123456789") {
		numberish = w
	}
	// Two shapes: with words, the matches lead (the GIN indexes find them);
	// without, the tickets the filters keep, most recently changed first.
	var found string
	if q.Text != "" || numberish != "" {
		found = `
		found AS (
		    SELECT m.ticket_id, ts_rank(m.search, q.text) AS rank, m.id AS message
		      FROM messages m, q WHERE q.text IS NOT NULL AND m.search @@ q.text
		    UNION ALL
		    SELECT t.id, 2 * ts_rank(t.search, q.title), NULL FROM tickets t, q WHERE q.title IS NOT NULL AND t.search @@ q.title
		    UNION ALL
		    SELECT t.id, 3, NULL FROM tickets t WHERE $3 <> '' AND t.number LIKE '%' || $3 || '%'),
		best AS (
		    SELECT ticket_id, sum(rank) AS rank, (array_agg(message ORDER BY rank DESC) FILTER (WHERE message IS NOT NULL))[1] AS message
		      FROM found GROUP BY ticket_id),
		candidates AS (SELECT t.*, b.rank, b.message FROM best b JOIN tickets t ON t.id = b.ticket_id),`
	} else {
		found = `
		candidates AS (SELECT t.*, 0::real AS rank, NULL::bigint AS message FROM tickets t),`
	}
	rows, err := db.Query(ctx, `
		WITH q AS (
		    SELECT CASE WHEN $1 = '' THEN NULL ELSE websearch_to_tsquery('english', $1) END AS text,
		           CASE WHEN $1 = '' THEN NULL
		                ELSE websearch_to_tsquery('english', $1) || websearch_to_tsquery('simple', $1) END AS title,
		           CASE WHEN $2 = '' THEN NULL
		                ELSE websearch_to_tsquery('english', $2) || websearch_to_tsquery('simple', $2) END AS subject,
		           $3::text AS number),`+found+`
		picked AS (
		    SELECT t.id, t.rank, t.message
		      FROM candidates t, q
		     WHERE (q.subject IS NULL OR t.search @@ q.subject)
		       AND ($4 = '' OR t.status = $4)
		       AND ($5 = '' OR t.number LIKE '%' || $5 || '%')
		       AND ($6 = '' OR t.customer_id IN (SELECT id FROM customers
		                 WHERE lower(email) LIKE '%' || lower($6) || '%' OR lower(name) LIKE '%' || lower($6) || '%'))
		       AND ($7 OR t.department_id = ANY ($8) OR t.assignee_id = $9)
		     ORDER BY t.rank DESC, t.updated_at DESC, t.id DESC
		     LIMIT $10)
		SELECT t.number, t.subject, t.status, t.priority, d.name, c.name, c.email, t.updated_at, p.rank,
		       coalesce((SELECT ts_headline('english', left(m.body, 20000), q.text,
		                     'MaxFragments=2, MaxWords=18, MinWords=6, FragmentDelimiter=" … ", StartSel=' || chr(2) || ', StopSel=' || chr(3))
		                   FROM messages m WHERE m.id = p.message), '')
		  FROM picked p
		  JOIN tickets t ON t.id = p.id
		  JOIN departments d ON d.id = t.department_id
		  JOIN customers c ON c.id = t.customer_id, q
		 ORDER BY p.rank DESC, t.updated_at DESC, t.id DESC`,
		q.Text, q.Subject, numberish, string(q.Status), q.Number, q.From,
		scope.All, nonNilIDs(scope.Departments), scope.AgentID, limit)
	if err != nil {
		return nil, fmt.Errorf("ticket: search: %w", err)
	}
	defer rows.Close()
	var out []SearchHit
	for rows.Next() {
		var h SearchHit
		if err := rows.Scan(&h.Number, &h.Subject, &h.Status, &h.Priority, &h.Department, &h.CustomerName, &h.CustomerEmail,
			&h.Updated, &h.Rank, &h.Snippet); err != nil {
			return nil, fmt.Errorf("ticket: search: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket: search: %w", err)
	}
	return out, nil
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
