package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/postdesk/postdesk/ticket"
)

// ticketView is what a ticket's page shows.
type ticketView struct {
	T       *ticket.Ticket
	History []ticket.Entry
}

// visibleTicket is the ticket of the request's number when the agent may
// see it; otherwise it answers 404 itself and returns nil.
func (s *Server) visibleTicket(w http.ResponseWriter, r *http.Request, a ticket.Agent) *ticket.Ticket {
	ctx := r.Context()
	tk, err := s.opts.Store.Get(ctx, r.PathValue("number"))
	if errors.Is(err, ticket.ErrNotFound) {
		s.notFound(w, r)
		return nil
	}
	if err != nil {
		s.serverError(w, r, err)
		return nil
	}
	who, err := ticket.ViewerOf(ctx, s.opts.Store.Pool(), a.ID, false)
	if err != nil {
		s.serverError(w, r, err)
		return nil
	}
	if !who.Admin && tk.AssigneeID != a.ID && !slices.Contains(who.Departments, tk.DepartmentID) {
		s.notFound(w, r)
		return nil
	}
	return tk
}

// ticketAct is the ticket page's form: a public reply or an internal note,
// and a new status, made through the domain's door as the agent, as a
// reply by mail would be (one transaction with its notices). A refusal
// (an empty reply, say) is shown on the page.
func (s *Server) ticketAct(w http.ResponseWriter, r *http.Request) {
	a := agentOf(r.Context())
	tk := s.visibleTicket(w, r, a)
	if tk == nil {
		return
	}
	var ops []ticket.Op
	if text := strings.TrimSpace(r.PostFormValue("text")); text != "" {
		kind := ticket.OpReply
		if r.PostFormValue("kind") == "note" {
			kind = ticket.OpNote
		}
		ops = append(ops, ticket.Op{Kind: kind, Message: &ticket.Message{Body: text}})
	}
	if st := r.PostFormValue("status"); st != "" && st != string(tk.Status) {
		ops = append(ops, ticket.Op{Kind: ticket.OpStatus, Value: st})
	}
	if len(ops) == 0 {
		s.showTicket(w, r, a, tk, http.StatusUnprocessableEntity, "Write a reply or a note, or choose another status.")
		return
	}
	_, err := s.opts.Store.Apply(r.Context(), tk.Number, ticket.AgentActor(a), ops...)
	var refusal *ticket.Refusal
	if errors.As(err, &refusal) {
		s.showTicket(w, r, a, tk, http.StatusUnprocessableEntity, "Nothing was changed: "+refusal.Error()+".")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+tk.Number, http.StatusSeeOther)
}

// ticketPage is /tickets/{number}: the ticket's fields and its thread in
// time order, customer messages, replies, internal notes (marked as such),
// events with actor and time, and each notice's delivery state. A ticket the
// agent may not see does not exist for them: 404, as for a wrong number.
func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request) {
	a := agentOf(r.Context())
	if tk := s.visibleTicket(w, r, a); tk != nil {
		s.showTicket(w, r, a, tk, http.StatusOK, "")
	}
}

func (s *Server) showTicket(w http.ResponseWriter, r *http.Request, a ticket.Agent, tk *ticket.Ticket, code int, problem string) {
	h, err := s.opts.Store.History(r.Context(), tk.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, code, "ticket", page{Title: tk.Number + " " + tk.Subject, Agent: &a, Error: problem,
		Ticket: &ticketView{T: tk, History: h}})
}
