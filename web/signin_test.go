package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

func TestLinkIsSingleUse(t *testing.T) {
	r := newRig(t, nil)
	tok, err := r.org.Store.NewSignInToken(r.ctx, r.org.Ken.ID, r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Opening the link spends nothing (a mail scanner may follow it).
	for range 2 {
		if p := r.do(req{method: "GET", path: "/signin/link/" + tok}); p.StatusCode != 200 || !strings.Contains(p.body, `value="`+tok+`"`) {
			t.Fatalf("link page = %d:\n%s", p.StatusCode, p.body)
		}
	}
	first := r.useLink(tok)
	if first.StatusCode != http.StatusSeeOther || first.session() == nil || !r.signedIn(first.session().Value, nil) {
		t.Fatalf("first use = %d, cookie %v:\n%s", first.StatusCode, first.session(), first.body)
	}
	again := r.useLink(tok)
	if again.StatusCode != http.StatusUnauthorized || again.session() != nil || !strings.Contains(again.body, "has been used or has expired") {
		t.Errorf("second use = %d, cookie %v:\n%s", again.StatusCode, again.session(), again.body)
	}
}

func TestLinkExpires(t *testing.T) {
	r := newRig(t, nil)
	early, err := r.org.Store.NewSignInToken(r.ctx, r.org.Ken.ID, r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	late, err := r.org.Store.NewSignInToken(r.ctx, r.org.Ken.ID, r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Add(ticket.SignInLinkLifetime - time.Second)
	if p := r.useLink(early); p.StatusCode != http.StatusSeeOther || p.session() == nil {
		t.Errorf("a link used within 15 minutes = %d:\n%s", p.StatusCode, p.body)
	}
	r.clock.Add(time.Second)
	if p := r.useLink(late); p.StatusCode != http.StatusUnauthorized || p.session() != nil {
		t.Errorf("a link used after 15 minutes = %d, cookie %v", p.StatusCode, p.session())
	}
}

func TestWrongPassword(t *testing.T) {
	r := newRig(t, nil)
	wrong := r.password("ken", kenPass+"!", "")
	if wrong.StatusCode != http.StatusUnauthorized || wrong.session() != nil || !strings.Contains(wrong.body, wrongPassword) {
		t.Errorf("wrong password = %d, cookie %v:\n%s", wrong.StatusCode, wrong.session(), wrong.body)
	}
	// A stranger hears the same; mary has no password at all.
	for _, login := range []string{strangers, "mary"} {
		if p := r.password(login, kenPass, ""); p.StatusCode != http.StatusUnauthorized || p.session() != nil ||
			!strings.Contains(p.body, wrongPassword) {
			t.Errorf("%s = %d, cookie %v", login, p.StatusCode, p.session())
		}
	}
	// The username or the address, in any case.
	for _, login := range []string{"ken", "Ken.Jay@Bank.Example"} {
		if p := r.password(login, kenPass, ""); p.StatusCode != http.StatusSeeOther || p.session() == nil || p.Header.Get("Location") != "/" {
			t.Errorf("%s with the right password = %d, cookie %v", login, p.StatusCode, p.session())
		}
	}
}

func TestSignInRateLimited(t *testing.T) {
	r := newRig(t, func(o *Options) { o.PerAddress, o.PerClient = 3, 6 })
	for i := range 3 {
		if p := r.password("ken", "wrong password", ""); p.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d", i+1, p.StatusCode)
		}
	}
	// Over the address's limit, the right password from elsewhere does not
	// help either, and no password is checked; another replica counts the
	// same attempts.
	replica := r.server(r.opts)
	p := r.do(req{method: "POST", path: "/signin", form: url.Values{"login": {"ken"}, "password": {kenPass}}, remote: otherIP, site: replica})
	if p.StatusCode != http.StatusTooManyRequests || p.session() != nil || !strings.Contains(p.body, "Too many sign-in attempts") {
		t.Fatalf("4th attempt on ken = %d, cookie %v:\n%s", p.StatusCode, p.session(), p.body)
	}
	// The client's limit: three more logins from clientIP reach its 6.
	for i, login := range []string{"a@user.example", "b@user.example", "c@user.example"} {
		if p := r.password(login, "x", ""); p.StatusCode != http.StatusUnauthorized {
			t.Fatalf("client attempt %d = %d", 4+i, p.StatusCode)
		}
	}
	if err := r.org.Store.SetPassword(r.ctx, r.org.Mary.ID, kenPass); err != nil {
		t.Fatal(err)
	}
	if p := r.password("mary", kenPass, ""); p.StatusCode != http.StatusTooManyRequests {
		t.Errorf("7th attempt from one client = %d, want 429", p.StatusCode)
	}
	if p := r.password("mary", kenPass, otherIP); p.StatusCode != http.StatusSeeOther {
		t.Errorf("mary from another client = %d, want 303", p.StatusCode)
	}
	// Links asked for count too.
	if p := r.do(req{method: "POST", path: "/signin/mail", form: url.Values{"login": {"ken"}}, remote: otherIP}); p.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a link asked for ken over his limit = %d", p.StatusCode)
	}
	// The next window starts afresh, on every replica: the counters are in
	// PostgreSQL.
	r.clock.Add(r.opts.Window)
	if p := r.password("ken", kenPass, ""); p.StatusCode != http.StatusSeeOther {
		t.Errorf("in the next window = %d", p.StatusCode)
	}
}

func TestCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		base   string
		secure bool
	}{{"http://desk.example", false}, {"https://desk.example", true}} {
		r := newRig(t, func(o *Options) { o.BaseURL = tc.base })
		c := r.password("ken", kenPass, "").session()
		if c == nil {
			t.Fatalf("%s: no session cookie", tc.base)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.secure || c.Path != "/" {
			t.Errorf("%s: cookie HttpOnly=%v SameSite=%v Secure=%v Path=%q, want HttpOnly, Lax, Secure=%v, /",
				tc.base, c.HttpOnly, c.SameSite, c.Secure, c.Path, tc.secure)
		}
		if len(c.Value) < 40 {
			t.Errorf("session token %q is short", c.Value)
		}
	}
}

func TestSignOutEndsSessionEverywhere(t *testing.T) {
	r := newRig(t, nil)
	tok := r.signIn()
	replica := r.server(r.opts) // another process over the same database
	if !r.signedIn(tok, nil) || !r.signedIn(tok, replica) {
		t.Fatal("a fresh session does not open the console")
	}
	home := r.do(req{method: "GET", path: "/", cookie: tok})
	if !strings.Contains(home.body, "Ken Jay") || !strings.Contains(home.body, `action="/signout"`) {
		t.Errorf("landing page lacks the name or the sign-out button:\n%s", home.body)
	}
	out := r.do(req{method: "POST", path: "/signout", cookie: tok, site: replica})
	if out.StatusCode != http.StatusSeeOther || out.Header.Get("Location") != "/signin" {
		t.Fatalf("sign-out = %d %q", out.StatusCode, out.Header.Get("Location"))
	}
	if r.signedIn(tok, nil) || r.signedIn(tok, replica) {
		t.Error("the cookie still opens the console after sign-out")
	}
}

func TestSessionIdleAndLifetime(t *testing.T) {
	r := newRig(t, nil)
	tok := r.signIn()
	// Used every 50 minutes, the session lives on, up to its lifetime.
	end := r.clock.Now().Add(r.opts.Sessions.Lifetime)
	for r.clock.Now().Add(50 * time.Minute).Before(end) {
		r.clock.Add(50 * time.Minute)
		if !r.signedIn(tok, nil) {
			t.Fatalf("session ended at %s though used within the idle timeout", r.clock.Now())
		}
	}
	r.clock.Add(end.Sub(r.clock.Now()))
	if r.signedIn(tok, nil) {
		t.Error("the session outlived its lifetime")
	}
	idle := r.signIn()
	r.clock.Add(r.opts.Sessions.Idle + time.Second)
	if r.signedIn(idle, nil) {
		t.Error("the session outlived its idle timeout")
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	r := newRig(t, nil)
	tok := r.signIn()
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		p := r.do(req{method: "POST", path: "/signout", cookie: tok, header: h})
		if p.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin sign-out %v = %d, want 403", h, p.StatusCode)
		}
		if !r.signedIn(tok, nil) {
			t.Fatalf("a cross-origin POST %v ended the session", h)
		}
		if p := r.do(req{method: "POST", path: "/signin", header: h,
			form: url.Values{"login": {"ken"}, "password": {kenPass}}}); p.StatusCode != http.StatusForbidden || p.session() != nil {
			t.Errorf("cross-origin sign-in %v = %d", h, p.StatusCode)
		}
	}
	// The console's own origin passes.
	same := r.do(req{method: "POST", path: "/signout", cookie: tok, header: map[string]string{"Origin": testBase, "Sec-Fetch-Site": "same-origin"}})
	if same.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin sign-out = %d", same.StatusCode)
	}
}

func TestInactiveAgentCannotSignIn(t *testing.T) {
	r := newRig(t, nil)
	tok, err := r.org.Store.NewSignInToken(r.ctx, r.org.Ken.ID, r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	session := r.signIn()
	org := tickettest.ScenarioOrg()
	org.Agents[0].Active = false // ken leaves
	if err := r.org.Store.SyncOrg(r.ctx, org); err != nil {
		t.Fatal(err)
	}
	if p := r.password("ken", kenPass, ""); p.StatusCode != http.StatusUnauthorized || p.session() != nil {
		t.Errorf("inactive agent's password = %d, cookie %v", p.StatusCode, p.session())
	}
	if p := r.useLink(tok); p.StatusCode != http.StatusUnauthorized || p.session() != nil {
		t.Errorf("inactive agent's link = %d, cookie %v", p.StatusCode, p.session())
	}
	if r.signedIn(session, nil) {
		t.Error("an inactive agent's session still opens the console")
	}
	if _, err := r.org.Store.NewSignInToken(r.ctx, r.org.Ken.ID, r.clock.Now()); err == nil {
		t.Error("a link was made for an inactive agent")
	}
	r.do(req{method: "POST", path: "/signin/mail", form: url.Values{"login": {"ken"}}})
	if n := dbtest.Count(t, r.org.Store.Pool(), `SELECT count(*) FROM outbound_mails WHERE template = 'agent_sign_in_link'`); n != 0 {
		t.Errorf("%d sign-in links mailed to an inactive agent", n)
	}
}

var linkInDraft = regexp.MustCompile(`"Link":"([^"]+)"`)

func TestMailLinkSaysTheSameToStrangers(t *testing.T) {
	r := newRig(t, nil)
	answer := func(login string) (string, string) {
		p := r.do(req{method: "POST", path: "/signin/mail", form: url.Values{"login": {login}}})
		if p.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", login, p.StatusCode)
		}
		page := r.do(req{method: "GET", path: p.Header.Get("Location")})
		return p.Header.Get("Location"), page.body
	}
	agentLoc, agentPage := answer("ken.jay@bank.example")
	strangerLoc, strangerPage := answer(strangers)
	if agentLoc != strangerLoc || agentPage != strangerPage {
		t.Errorf("the page differs for an agent and a stranger:\n%s\n----\n%s", agentPage, strangerPage)
	}
	if !strings.Contains(agentPage, "a sign-in link is on its way") {
		t.Errorf("the page does not say a link is coming:\n%s", agentPage)
	}
	pool := r.org.Store.Pool()
	if n := dbtest.Count(t, pool, `SELECT count(*) FROM outbound_mails`); n != 1 {
		t.Fatalf("%d notices queued, want 1 (to ken only)", n)
	}
	var to, state, draft string
	if err := pool.QueryRow(r.ctx, `SELECT recipient, state, draft::text FROM outbound_mails
		WHERE template = 'agent_sign_in_link'`).Scan(&to, &state, &draft); err != nil {
		t.Fatal(err)
	}
	if to != "ken.jay@bank.example" || state != "pending" {
		t.Errorf("notice to %s, %s", to, state)
	}
	m := linkInDraft.FindStringSubmatch(draft)
	if m == nil || !strings.HasPrefix(m[1], testBase+"/signin/link/") {
		t.Fatalf("no sign-in link in the notice:\n%s", draft)
	}
	// The worker renders it as it will send it: to ken, about no ticket.
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	w, err := mailer.NewWorker(r.org.Store, mailer.Options{Templates: set, Relay: mailer.Relay{Host: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.RenderQueued(r.ctx); err != nil || n != 1 {
		t.Fatalf("rendered %d notices: %v", n, err)
	}
	var raw string
	if err := pool.QueryRow(r.ctx, `SELECT convert_from(rendered, 'UTF8') FROM outbound_mails`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw, "Subject: Your sign-in link for Bank Example Support") || !strings.Contains(raw, "ken.jay@bank.example") {
		t.Errorf("rendered notice:\n%s", raw)
	}
	// The mailed link signs ken in.
	tok := strings.TrimPrefix(m[1], testBase+"/signin/link/")
	if p := r.useLink(tok); p.StatusCode != http.StatusSeeOther || p.session() == nil {
		t.Errorf("the mailed link = %d:\n%s", p.StatusCode, p.body)
	}
}

func TestNotFoundAndHeaders(t *testing.T) {
	r := newRig(t, nil)
	tok := r.signIn()
	for _, path := range []string{"/tickets/123456", "/nothing", "/static/postdesk.css"} {
		if p := r.do(req{method: "GET", path: path, cookie: tok}); p.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, p.StatusCode)
		}
	}
	if p := r.do(req{method: "GET", path: "/"}); p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/signin" {
		t.Errorf("GET / signed out = %d %q", p.StatusCode, p.Header.Get("Location"))
	}
	page := r.do(req{method: "GET", path: "/signin"})
	csp := page.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(page.body, "<script") || strings.Contains(page.body, "style=") {
		t.Errorf("inline script or style in the sign-in page:\n%s", page.body)
	}
	css := regexp.MustCompile(`href="(/static/postdesk\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(page.body)
	if css == nil {
		t.Fatalf("no hashed stylesheet link:\n%s", page.body)
	}
	if p := r.do(req{method: "GET", path: css[1]}); p.StatusCode != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(p.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet = %d %q %q", p.StatusCode, p.Header.Get("Content-Type"), p.Header.Get("Cache-Control"))
	}
}
