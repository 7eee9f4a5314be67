package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/postdesk/postdesk/ticket"
)

// ticketView is what a ticket's page shows.
type ticketView struct {
	T       *ticket.Ticket
	History []ticket.Entry
}

// ticketPage is /tickets/{number}: the ticket's fields and its thread in
// time order, customer messages, replies, internal notes (marked as such),
// events with actor and time, and each notice's delivery state. A ticket the
// agent may not see does not exist for them: 404, as for a wrong number.
func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request) {
	a := agentOf(r.Context())
	ctx := r.Context()
	tk, err := s.opts.Store.Get(ctx, r.PathValue("number"))
	if errors.Is(err, ticket.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	who, err := ticket.ViewerOf(ctx, s.opts.Store.Pool(), a.ID, false)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !who.Admin && tk.AssigneeID != a.ID && !slices.Contains(who.Departments, tk.DepartmentID) {
		s.notFound(w, r)
		return
	}
	h, err := s.opts.Store.History(ctx, tk.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "ticket", page{Title: tk.Number + " " + tk.Subject, Agent: &a, Ticket: &ticketView{T: tk, History: h}})
}
