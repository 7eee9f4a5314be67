package web

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browser is the one headless Chromium of this test binary; each browser
// test opens a tab of it (newTab).
var browser struct {
	ctx     context.Context
	missing error // why there is no browser
}

func TestMain(m *testing.M) {
	os.Exit(runWithBrowser(m))
}

func runWithBrowser(m *testing.M) int {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		browser.missing = fmt.Errorf("no browser at %s (Debian package chromium): %w", chromiumPath, err)
		return m.Run()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		browser.missing = fmt.Errorf("chromium at %s does not start: %w", chromiumPath, err)
		return m.Run()
	}
	browser.ctx = ctx
	return m.Run()
}

// newTab opens a tab that fails the test on a JavaScript exception. With
// no browser the test is skipped, except in CI, which installs it.
func newTab(t *testing.T) context.Context {
	t.Helper()
	if browser.missing != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test: %v", browser.missing)
		}
		t.Skipf("browser test: %v", browser.missing)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithListener(func(ev any) {
		var d *runtime.ExceptionDetails
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d = e.ExceptionDetails
		case runtime.EventExceptionThrown:
			d = e.ExceptionDetails
		}
		if d != nil {
			t.Errorf("JavaScript exception: %s at %s:%d", d.Text, d.URL, d.LineNumber+1)
		}
	}))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, bound to ctx rather than the timeout below
		t.Fatalf("browser test: new tab: %v", err)
	}
	ctx, cancelTime := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(cancelTime)
	return ctx
}

func TestBrowserSignInWithLink(t *testing.T) {
	r := newRig(t, nil)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	r.opts.BaseURL, r.opts.Now = base, time.Now // a real browser, a real clock
	srv.Config.Handler = r.server(r.opts)
	srv.Start()
	defer srv.Close()

	tok, err := r.org.Store.NewSignInToken(r.ctx, r.org.Ken.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t)
	err = chromedp.Do(ctx,
		chromedp.Navigate(LinkURL(base, tok)),
		chromedp.WaitVisible(chromedp.ID("use-link")),
		chromedp.Click(chromedp.ID("use-link")),
		chromedp.WaitVisible(chromedp.ID("welcome")),
	)
	if err != nil {
		t.Fatalf("signing in with the link: %v", err)
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("agent-name")))
	if err != nil {
		t.Fatal(err)
	}
	welcome, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("welcome")))
	if err != nil {
		t.Fatal(err)
	}
	if name != "Ken Jay" || !strings.Contains(welcome, "Ken Jay") {
		t.Errorf("landing page shows %q / %q, want Ken Jay", name, welcome)
	}
	// Signing out from the browser ends the session: the console sends it
	// back to the sign-in page.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("signin")),
	)
	if err != nil {
		t.Fatalf("signing out: %v", err)
	}
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string]("location.pathname"))
	if err != nil {
		t.Fatal(err)
	}
	if path != "/signin" {
		t.Errorf("after sign-out / leads to %q, want /signin", path)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the browser test ran out of time")
	}
}
