package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/postdesk/postdesk/ticket"
)

// queueTab is one of the agent's queues, with its exact count.
type queueTab struct {
	Label   string
	Query   string // the URL query that opens it
	Count   int
	Current bool
}

// queuePage is what the landing page shows: the agent's queues and one
// page of the one opened.
type queuePage struct {
	Tabs []queueTab
	Rows []ticket.QueueRow
	Next string // the URL of the next page, "" on the last
}

// home is the signed-in agent's landing page: their queues with their
// counts, and the open one's first (or ?after=) page, in queue order.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	a := agentOf(r.Context())
	ctx := r.Context()
	pool := s.opts.Store.Pool()
	who, err := ticket.ViewerOf(ctx, pool, a.ID, false)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	counts, err := ticket.QueueCounts(ctx, pool, who)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	views := []struct {
		label string
		view  ticket.View
	}{
		{"Unassigned", ticket.View{Kind: ticket.ViewUnassigned}},
		{"Mine", ticket.View{Kind: ticket.ViewMine}},
	}
	for _, name := range a.Departments {
		d, err := s.opts.Store.Department(ctx, name)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		views = append(views, struct {
			label string
			view  ticket.View
		}{d.Name, ticket.View{Kind: ticket.ViewDepartment, DepartmentID: d.ID}})
	}
	views = append(views, struct {
		label string
		view  ticket.View
	}{"All open", ticket.View{Kind: ticket.ViewOpen}}, struct {
		label string
		view  ticket.View
	}{"Recently resolved", ticket.View{Kind: ticket.ViewResolved}})

	// The view asked for: ?view=KIND (and &dept=ID); Unassigned by default.
	q := r.URL.Query()
	current := ticket.View{Kind: ticket.ViewKind(q.Get("view"))}
	if current.Kind == "" {
		current.Kind = ticket.ViewUnassigned
	}
	if current.Kind == ticket.ViewDepartment {
		current.DepartmentID, _ = strconv.ParseInt(q.Get("dept"), 10, 64)
	}
	var qp queuePage
	found := false
	for _, v := range views {
		query := "view=" + string(v.view.Kind)
		if v.view.Kind == ticket.ViewDepartment {
			query += "&dept=" + strconv.FormatInt(v.view.DepartmentID, 10)
		}
		cur := v.view == current
		found = found || cur
		qp.Tabs = append(qp.Tabs, queueTab{Label: v.label, Query: query, Count: counts[v.view], Current: cur})
	}
	if !found {
		s.notFound(w, r)
		return
	}
	cursor, err := ticket.ParseCursor(q.Get("after"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	limit := 50
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n <= 200 {
		limit = n
	}
	rows, next, err := ticket.Queue(ctx, pool, who, current, ticket.Filter{}, cursor, limit)
	if errors.Is(err, ticket.ErrNotAllowed) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	qp.Rows = rows
	if !next.IsZero() {
		for _, t := range qp.Tabs {
			if t.Current {
				qp.Next = "/?" + t.Query + "&after=" + next.String()
				if limit != 50 {
					qp.Next += "&limit=" + strconv.Itoa(limit)
				}
			}
		}
	}
	s.render(w, http.StatusOK, "home", page{Title: "Console", Agent: &a, Queue: &qp})
}
