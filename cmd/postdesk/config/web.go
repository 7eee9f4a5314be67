package config

import (
	"net"
	"net/url"
	"strings"
	"time"
)

var webKeys = []string{"base_url", "session_lifetime", "session_idle_timeout",
	"sign_in_attempts_per_address", "sign_in_attempts_per_client", "sign_in_window"}

// Web defaults.
const (
	DefaultSessionLifetime = 7 * 24 * time.Hour
	DefaultSessionIdle     = 12 * time.Hour
	DefaultSignInWindow    = 15 * time.Minute
)

func (d *decoder) web(o *object, httpListen string) Web {
	w := Web{
		BaseURL:          strings.TrimSuffix(strings.TrimSpace(o.str("base_url")), "/"),
		SessionLifetime:  o.duration("session_lifetime", DefaultSessionLifetime, time.Minute),
		SessionIdle:      o.duration("session_idle_timeout", DefaultSessionIdle, time.Minute),
		SignInPerAddress: o.integer("sign_in_attempts_per_address", 10, 1, 10000),
		SignInPerClient:  o.integer("sign_in_attempts_per_client", 50, 1, 100000),
		SignInWindow:     o.duration("sign_in_window", DefaultSignInWindow, time.Minute),
	}
	if w.BaseURL != "" {
		u, err := url.Parse(w.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			o.errf("base_url", "must be an http:// or https:// URL such as https://desk.example.com, got %q", w.BaseURL)
		case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			o.errf("base_url", "must be a scheme and host only (the console is served at /), got %q", w.BaseURL)
		}
	} else if httpListen != "" {
		host, port, _ := net.SplitHostPort(httpListen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		w.BaseURL = "http://" + net.JoinHostPort(host, port)
	}
	if w.SessionIdle > w.SessionLifetime {
		o.errf("session_idle_timeout", "must not be longer than session_lifetime (%s), got %s", w.SessionLifetime, w.SessionIdle)
	}
	if w.SignInPerAddress > w.SignInPerClient {
		o.errf("sign_in_attempts_per_address", "must not be more than sign_in_attempts_per_client (%d), got %d",
			w.SignInPerClient, w.SignInPerAddress)
	}
	return w
}

// Secure reports whether the console's cookies must be Secure: its public
// URL is https.
func (w Web) Secure() bool { return strings.HasPrefix(w.BaseURL, "https://") }
