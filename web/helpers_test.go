package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

// clock is the time the console sees; tests move it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rig is the console over a fresh database with the scenario's
// organisation, whose changes queue real notices.
type rig struct {
	t     *testing.T
	ctx   context.Context
	org   *tickettest.Org
	clock *clock
	site  *Server
	opts  Options
}

const (
	testBase  = "http://desk.example"
	kenPass   = "correct horse battery"
	clientIP  = "192.0.2.7"
	otherIP   = "198.51.100.9"
	strangers = "nobody@user.example"
)

func newRig(t *testing.T, change func(*Options)) *rig {
	t.Helper()
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	n, err := mailer.NewNotifier(mailer.Options{OrgName: "Bank Example Support", MessageIDDomain: "bank.example",
		ReplySecret: []byte("web-test-secret-0123456789"), Templates: set,
		Mailboxes: map[string]string{"support@bank.example": "Bank Support", "outage@bank.example": "Bank Outage Desk"}},
		ticket.DefaultNumbering())
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, ctx: context.Background(), org: tickettest.New(t, n),
		clock: &clock{t: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)}}
	r.opts = Options{Store: r.org.Store, BaseURL: testBase, OrgName: "Bank Example Support",
		Sessions:   ticket.SessionTimes{Lifetime: 24 * time.Hour, Idle: time.Hour},
		PerAddress: 5, PerClient: 20, Window: 15 * time.Minute, Now: r.clock.Now, Log: slog.New(slog.DiscardHandler)}
	if change != nil {
		change(&r.opts)
	}
	r.site = r.server(r.opts)
	if err := r.org.Store.SetPassword(r.ctx, r.org.Ken.ID, kenPass); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) server(o Options) *Server {
	r.t.Helper()
	s, err := New(o)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// req is one request to the console.
type req struct {
	method, path string
	form         url.Values
	cookie       string // the session token, if any
	remote       string // client IP; default clientIP
	header       map[string]string
	site         *Server // default the rig's
}

// resp is the answer with its body read.
type resp struct {
	*http.Response
	body string
}

func (r *rig) do(q req) resp {
	r.t.Helper()
	var body io.Reader
	if q.form != nil {
		body = strings.NewReader(q.form.Encode())
	}
	hr := httptest.NewRequest(q.method, testBase+q.path, body)
	if q.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if q.remote == "" {
		q.remote = clientIP
	}
	hr.RemoteAddr = q.remote + ":40000"
	if q.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: cookieName, Value: q.cookie})
	}
	for k, v := range q.header {
		hr.Header.Set(k, v)
	}
	site := q.site
	if site == nil {
		site = r.site
	}
	w := httptest.NewRecorder()
	site.ServeHTTP(w, hr)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return resp{res, string(b)}
}

// session is the session cookie an answer set ("" when none).
func (p resp) session() *http.Cookie {
	for _, c := range p.Cookies() {
		if c.Name == cookieName && c.Value != "" {
			return c
		}
	}
	return nil
}

// password posts the password form.
func (r *rig) password(login, password, remote string) resp {
	return r.do(req{method: "POST", path: "/signin", form: url.Values{"login": {login}, "password": {password}}, remote: remote})
}

// useLink posts a sign-in link's token.
func (r *rig) useLink(token string) resp {
	return r.do(req{method: "POST", path: "/signin/link", form: url.Values{"token": {token}}})
}

// signedIn reports whether the session token opens the landing page.
func (r *rig) signedIn(token string, site *Server) bool {
	r.t.Helper()
	p := r.do(req{method: "GET", path: "/", cookie: token, site: site})
	switch p.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	}
	r.t.Fatalf("GET / = %d:\n%s", p.StatusCode, p.body)
	return false
}

// signIn signs ken in with his password and returns the session token.
func (r *rig) signIn() string {
	r.t.Helper()
	p := r.password("ken", kenPass, "")
	c := p.session()
	if p.StatusCode != http.StatusSeeOther || c == nil {
		r.t.Fatalf("sign-in = %d, cookie %v:\n%s", p.StatusCode, c, p.body)
	}
	return c.Value
}
