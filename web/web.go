// Package web is the agents' web console: server-rendered pages over the
// ticket package, served by 'postdesk serve' at / on the HTTP listener.
//
// Every request passes one chain (routes.go): recover and log, security
// headers (a Content-Security-Policy without inline script), net/http's
// cross-origin protection for state-changing requests, then the session.
// Handlers parse a form, call ticket, render; they hold no SQL.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/postdesk/postdesk/ticket"
)

// Options configure the console.
type Options struct {
	Store *ticket.Store
	// BaseURL is the console's public URL, scheme and host: sign-in links
	// start with it, cross-origin checks trust it, and an https one makes
	// the session cookie Secure.
	BaseURL  string
	OrgName  string
	Sessions ticket.SessionTimes
	// Sign-in attempts allowed per address and per client in each
	// Window, counted in PostgreSQL.
	PerAddress, PerClient int
	Window                time.Duration
	Log                   *slog.Logger
	Now                   func() time.Time // nil: time.Now; tests move a clock
}

// Server is the console's handler.
type Server struct {
	opts   Options
	secure bool
	pages  pages
	h      http.Handler
}

// New builds the console. Its templates are parsed here: a broken one
// fails at start, not at the first request.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, secure: len(opts.BaseURL) > 8 && opts.BaseURL[:8] == "https://", pages: p}
	if s.h, err = s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// LinkURL is the sign-in URL for a token made by ticket.Store.NewSignInToken.
func (s *Server) LinkURL(token string) string { return LinkURL(s.opts.BaseURL, token) }

// LinkURL is the sign-in URL under baseURL for a sign-in token.
func LinkURL(baseURL, token string) string { return baseURL + "/signin/link/" + token }
