package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/postdesk/postdesk/ticket"
)

// Words the sign-in page says. mailedNotice is the same whether or not the
// address is an agent's, so that the page tells strangers nothing.
const (
	wrongPassword  = "That username or password is not right."
	mailedNotice   = "If that is the address or username of an agent, a sign-in link is on its way to their mail. It works once, within 15 minutes."
	linkSpent      = "This sign-in link has been used or has expired. Ask for a new one below."
	tooManyFormat  = "Too many sign-in attempts. Try again in %d minutes."
	mailedQueryKey = "mailed"
)

// signInPage shows the sign-in form: a password, or a link by mail.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Sign in"}
	if r.URL.Query().Has(mailedQueryKey) {
		p.Notice = mailedNotice
	}
	s.render(w, http.StatusOK, "signin", p)
}

// client is the key of the request's client for the rate limits: its IP
// address as the listener saw it.
func client(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// countAttempt counts a sign-in attempt for the typed login and the client;
// false (and the answer written) when one of them is over its limit.
func (s *Server) countAttempt(w http.ResponseWriter, r *http.Request, login string) bool {
	limits := []ticket.Limit{{Key: "client:" + client(r), Max: s.opts.PerClient, Window: s.opts.Window}}
	if login != "" {
		limits = append(limits, ticket.Limit{Key: "login:" + strings.ToLower(login), Max: s.opts.PerAddress, Window: s.opts.Window})
	}
	err := s.opts.Store.CountAttempt(r.Context(), s.opts.Now(), limits...)
	switch {
	case errors.Is(err, ticket.ErrTooManyAttempts):
		s.opts.Log.Warn("sign-in rate limited", "login", login, "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", fmt.Sprint(int(s.opts.Window.Seconds())))
		s.render(w, http.StatusTooManyRequests, "signin", page{Title: "Sign in", Login: login,
			Error: fmt.Sprintf(tooManyFormat, int(s.opts.Window.Minutes()))})
		return false
	case err != nil:
		s.serverError(w, r, err)
		return false
	}
	return true
}

// signInPassword signs in with a username or address and a password.
func (s *Server) signInPassword(w http.ResponseWriter, r *http.Request) {
	login, password := strings.TrimSpace(r.PostFormValue("login")), r.PostFormValue("password")
	if !s.countAttempt(w, r, login) {
		return
	}
	a, err := s.opts.Store.CheckPassword(r.Context(), login, password)
	if errors.Is(err, ticket.ErrSignIn) {
		s.opts.Log.Info("sign-in refused", "login", login, "remote", r.RemoteAddr)
		s.render(w, http.StatusUnauthorized, "signin", page{Title: "Sign in", Login: login, Error: wrongPassword})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.startSession(w, r, a)
}

// signInMail mails a sign-in link to the agent with that username or
// address, if there is one, and answers the same in every case.
func (s *Server) signInMail(w http.ResponseWriter, r *http.Request) {
	login := strings.TrimSpace(r.PostFormValue("login"))
	if !s.countAttempt(w, r, login) {
		return
	}
	a, err := ticket.SignInAgent(r.Context(), s.opts.Store.Pool(), login)
	switch {
	case errors.Is(err, ticket.ErrSignIn):
		s.opts.Log.Info("sign-in link asked for no agent", "login", login, "remote", r.RemoteAddr)
	case err != nil:
		s.serverError(w, r, err)
		return
	default:
		if err := s.opts.Store.MailSignInLink(r.Context(), a, s.opts.Now(), s.LinkURL); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.opts.Log.Info("sign-in link queued", "agent", a.Username, "remote", r.RemoteAddr)
	}
	http.Redirect(w, r, "/signin?"+mailedQueryKey, http.StatusSeeOther)
}

// linkPage shows a button that uses the link. Opening the link changes
// nothing, so a mail scanner that follows it does not spend it.
func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "link", page{Title: "Sign in", Token: r.PathValue("token")})
}

// linkUse spends a sign-in link and signs its agent in.
func (s *Server) linkUse(w http.ResponseWriter, r *http.Request) {
	if !s.countAttempt(w, r, "") {
		return
	}
	a, err := s.opts.Store.UseSignInToken(r.Context(), r.PostFormValue("token"), s.opts.Now())
	if errors.Is(err, ticket.ErrSignIn) {
		s.render(w, http.StatusUnauthorized, "signin", page{Title: "Sign in", Error: linkSpent})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.startSession(w, r, a)
}
