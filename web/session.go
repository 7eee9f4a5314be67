package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/postdesk/postdesk/ticket"
)

// cookieName is the session cookie's name.
const cookieName = "postdesk_session"

type agentKey struct{}

// agentOf is the signed-in agent of a request that passed agentOnly.
func agentOf(ctx context.Context) ticket.Agent {
	a, _ := ctx.Value(agentKey{}).(ticket.Agent)
	return a
}

// agentOnly serves h to requests with a live session of an active agent
// and sends every other to the sign-in page.
func (s *Server) agentOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		a, err := s.opts.Store.Session(r.Context(), c.Value, s.opts.Now(), s.opts.Sessions)
		if errors.Is(err, ticket.ErrSignIn) {
			s.clearCookie(w)
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, a)))
	})
}

// startSession signs agent a in: a new session (a new token at every
// sign-in), its cookie, and off to the console.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, a ticket.Agent) {
	tok, err := s.opts.Store.NewSession(r.Context(), a.ID, s.opts.Now(), s.opts.Sessions)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.opts.Sessions.Lifetime / time.Second)})
	s.opts.Log.Info("agent signed in", "agent", a.Username, "remote", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// signOut ends the session on every replica: its row is gone.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Cookie(cookieName) // agentOnly found it
	if err := s.opts.Store.EndSession(r.Context(), c.Value); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
