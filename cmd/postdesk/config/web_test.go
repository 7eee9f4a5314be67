package config

import (
	"strings"
	"testing"
	"time"
)

func TestWebDefaults(t *testing.T) {
	cfg := mustLoad(t, compose(map[string]string{"listen": "listen:\n  smtp: 127.0.0.1:2525\n  http: :8080\n"}), baseEnv())
	want := Web{BaseURL: "http://127.0.0.1:8080", SessionLifetime: 7 * 24 * time.Hour, SessionIdle: 12 * time.Hour,
		SignInPerAddress: 10, SignInPerClient: 50, SignInWindow: 15 * time.Minute}
	if cfg.Web != want {
		t.Errorf("web = %+v, want %+v", cfg.Web, want)
	}
	if cfg.Web.Secure() {
		t.Errorf("an http base_url must not make cookies Secure")
	}
	cfg = mustLoad(t, compose(map[string]string{"web": "web:\n  base_url: https://desk.example/\n  session_lifetime: 8h\n  session_idle_timeout: 1h\n"}), baseEnv())
	if cfg.Web.BaseURL != "https://desk.example" || !cfg.Web.Secure() || cfg.Web.SessionLifetime != 8*time.Hour || cfg.Web.SessionIdle != time.Hour {
		t.Errorf("web = %+v", cfg.Web)
	}
}

func TestWebProblems(t *testing.T) {
	for _, tc := range []struct{ name, web, path, msg string }{
		{"base_url not http", "  base_url: ftp://desk.example\n", "web.base_url", "must be an http:// or https:// URL"},
		{"base_url with a path", "  base_url: https://desk.example/console\n", "web.base_url", "scheme and host only"},
		{"idle longer than lifetime", "  session_lifetime: 1h\n  session_idle_timeout: 2h\n", "web.session_idle_timeout", "must not be longer"},
		{"bad duration", "  session_lifetime: soon\n", "web.session_lifetime", "invalid duration"},
		{"unknown key", "  cookie_name: x\n", "web.cookie_name", "unknown key"},
		{"address over client", "  sign_in_attempts_per_address: 60\n", "web.sign_in_attempts_per_address", "must not be more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadText(t, compose(map[string]string{"web": "web:\n" + tc.web}), baseEnv())
			probs := problems(t, cfg, err)
			if len(probs) != 1 || probs[0].Path != tc.path || !strings.Contains(probs[0].Message, tc.msg) || probs[0].Line == 0 || probs[0].Column == 0 {
				t.Errorf("problems = %+v, want one at %s saying %q with a line and column", probs, tc.path, tc.msg)
			}
		})
	}
}

func TestExampleWeb(t *testing.T) {
	cfg, err := Load(examplePath, env(map[string]string{"POSTDESK_REPLY_SECRET": replySecret}))
	if err != nil {
		t.Fatal(err)
	}
	want := Web{BaseURL: "http://127.0.0.1:8080", SessionLifetime: DefaultSessionLifetime, SessionIdle: DefaultSessionIdle,
		SignInPerAddress: 10, SignInPerClient: 50, SignInWindow: DefaultSignInWindow}
	if cfg.Web != want {
		t.Errorf("example web = %+v, want %+v (the defaults, base_url from listen.http)", cfg.Web, want)
	}
}
