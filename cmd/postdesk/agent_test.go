package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// serve answers the web console at / beside /healthz: a link printed by
// 'agent link' signs ken in once, and a password set by 'agent password'
// signs him in too.
func TestAgentLinkAndPasswordSignInToServe(t *testing.T) {
	world := newMailWorld(t, "ken.jay@bank.example")
	s := startServer(t, dbtest.URL(t), world)
	base := "http://" + s.http

	code, out, errs := runCLI(t, s.env, "agent", "link", "ken")
	if code != 0 {
		t.Fatalf("agent link: exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link := lines[len(lines)-1]
	if !strings.HasPrefix(link, base+"/signin/link/") {
		t.Fatalf("last line %q is not a sign-in link under %s", link, base)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(u string) (int, string) {
		t.Helper()
		res, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		res, err := client.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(base + "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q beside the console", code, body)
	}
	token := strings.TrimPrefix(link, base+"/signin/link/")
	if code, body := get(link); code != 200 || !strings.Contains(body, token) {
		t.Fatalf("link page = %d:\n%s", code, body)
	}
	if code, body := post("/signin/link", url.Values{"token": {token}}); code != 200 || !strings.Contains(body, "Hello, Ken Jay") {
		t.Fatalf("using the link = %d:\n%s", code, body)
	}
	if code, _ := post("/signout", nil); code != 200 {
		t.Fatalf("sign-out = %d", code)
	}
	if code, body := post("/signin/link", url.Values{"token": {token}}); code != http.StatusUnauthorized {
		t.Errorf("the link used again = %d:\n%s", code, body)
	}

	if code, out, errs := runCLIWithInput(t, s.env, "short\n", "agent", "password", "ken"); code == 0 || !strings.Contains(errs, "at least 10 characters") {
		t.Errorf("a short password: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLIWithInput(t, s.env, "correct horse battery\n", "agent", "password", "ken"); code != 0 {
		t.Fatalf("agent password: exit %d\n%s%s", code, out, errs)
	}
	if code, body := post("/signin", url.Values{"login": {"ken.jay@bank.example"}, "password": {"correct horse battery"}}); code != 200 ||
		!strings.Contains(body, "Hello, Ken Jay") {
		t.Errorf("password sign-in = %d:\n%s", code, body)
	}
	if code, _, errs := runCLI(t, s.env, "agent", "link", "nobody@user.example"); code != 1 || !strings.Contains(errs, "no active agent") {
		t.Errorf("a link for a stranger: exit %d, %s", code, errs)
	}
}
