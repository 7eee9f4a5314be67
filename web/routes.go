package web

import (
	"fmt"
	"net/http"
	"runtime/debug"
)

// contentSecurityPolicy allows the console's own styles and nothing else:
// no script at all so far, no frames, forms posting only here.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// routes is the console's mux behind its one chain of middleware. The
// sign-in pages and static files need no session; the others are wrapped
// in agentOnly.
func (s *Server) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{file}", s.static)
	mux.HandleFunc("GET /signin", s.signInPage)
	mux.HandleFunc("POST /signin", s.signInPassword)
	mux.HandleFunc("POST /signin/mail", s.signInMail)
	mux.HandleFunc("GET /signin/link/{token}", s.linkPage)
	mux.HandleFunc("POST /signin/link", s.linkUse)

	mux.Handle("GET /{$}", s.agentOnly(s.home))
	mux.Handle("GET /tickets/{number}", s.agentOnly(s.ticketPage))
	mux.Handle("POST /tickets/{number}", s.agentOnly(s.ticketAct))
	mux.Handle("POST /signout", s.agentOnly(s.signOut))
	mux.HandleFunc("/", s.notFound)

	cop := http.NewCrossOriginProtection()
	if s.opts.BaseURL != "" {
		if err := cop.AddTrustedOrigin(s.opts.BaseURL); err != nil {
			return nil, fmt.Errorf("web: base URL %q: %w", s.opts.BaseURL, err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.opts.Log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		s.errorPage(w, http.StatusForbidden, "This form was sent from another site, so it was refused.")
	}))
	return s.recoverer(securityHeaders(cop.Handler(mux))), nil
}

// securityHeaders sets what every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer") // sign-in links carry their token in the path
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a handler's panic into a logged 500.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.opts.Log.Error("web handler panicked", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.errorPage(w, http.StatusInternalServerError, "Something went wrong on our side.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// notFound answers every URL the agent may not see, existing or not.
func (s *Server) notFound(w http.ResponseWriter, _ *http.Request) {
	s.errorPage(w, http.StatusNotFound, "There is no such page.")
}

// serverError logs err and answers 500 without its details.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.opts.Log.Error("web request failed", "path", r.URL.Path, "remote", r.RemoteAddr, "error", err)
	s.errorPage(w, http.StatusInternalServerError, "Something went wrong on our side.")
}
