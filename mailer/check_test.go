package mailer_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postdesk/postdesk/mailer"
)

func relayStep(t *testing.T, r mailer.RelayReport, name string) mailer.CheckStep {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("report has no %s step:\n%s", name, relayText(r))
	return mailer.CheckStep{}
}

func relayText(r mailer.RelayReport) string {
	var b strings.Builder
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%s %s: %s\n", s.Name, s.Result, s.Detail)
	}
	return b.String()
}

func TestCheckRelay(t *testing.T) {
	users := func(s *sink) { s.users = map[string]string{"postdesk": "s3cret-Pw"} }
	tokens := func(s *sink) { s.tokens = map[string]bool{"ya29.good": true} }
	closed := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}()
	for _, tc := range []struct {
		name   string
		sink   func(*sink)
		relay  func(*mailer.Relay)
		ok     bool
		step   string // the step to look at
		result string
		detail string
	}{
		{"no auth, no TLS", nil, func(*mailer.Relay) {}, true, "tls", mailer.CheckSkipped, "clear text"},
		{"STARTTLS required but not offered", nil, func(r *mailer.Relay) { r.TLS = "mandatory" },
			false, "tls", mailer.CheckFailed, "does not offer STARTTLS"},
		{"opportunistic without STARTTLS", nil, func(r *mailer.Relay) { r.TLS = "opportunistic" },
			true, "tls", mailer.CheckWarning, "clear text"},
		{"plain", users, func(r *mailer.Relay) { r.Auth, r.Username, r.Password = "plain", "postdesk", "s3cret-Pw" },
			true, "auth", mailer.CheckOK, "logged in as postdesk (AUTH PLAIN)"},
		{"plain, wrong password", users, func(r *mailer.Relay) { r.Auth, r.Username, r.Password = "plain", "postdesk", "wr0ng-Pw" },
			false, "auth", mailer.CheckFailed, "refused user postdesk"},
		{"plain, relay without AUTH", nil, func(r *mailer.Relay) { r.Auth, r.Username, r.Password = "plain", "postdesk", "x" },
			false, "auth", mailer.CheckFailed, "offers no AUTH"},
		{"xoauth2", tokens, func(r *mailer.Relay) {
			r.Auth, r.Username, r.TokenCommand = "xoauth2", "support@bank.example", "echo ya29.good"
		}, true, "auth", mailer.CheckOK, "AUTH XOAUTH2"},
		{"xoauth2, failing token command", tokens, func(r *mailer.Relay) {
			r.Auth, r.Username, r.TokenCommand = "xoauth2", "support@bank.example", "echo ya29.secret >&2; exit 3"
		}, false, "token", mailer.CheckFailed, "token command failed"},
		{"nothing listening", nil, func(r *mailer.Relay) { r.Port = closed },
			false, "connect", mailer.CheckFailed, "connection refused"},
		{"unknown setting", nil, func(r *mailer.Relay) { r.TLS = "sometimes" },
			false, "settings", mailer.CheckFailed, "sometimes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSink(t, tc.sink)
			cfg := mailer.Relay{Host: "127.0.0.1", Port: s.port, TLS: "none", Timeout: 5 * time.Second}
			tc.relay(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r := mailer.CheckRelay(ctx, cfg)
			text := relayText(r)
			if r.OK() != tc.ok {
				t.Fatalf("OK() = %v, want %v:\n%s", r.OK(), tc.ok, text)
			}
			st := relayStep(t, r, tc.step)
			if st.Result != tc.result || !strings.Contains(st.Detail, tc.detail) {
				t.Errorf("%s step = %s %q; want %s containing %q\n%s", tc.step, st.Result, st.Detail, tc.result, tc.detail, text)
			}
			for _, secret := range []string{"s3cret", "wr0ng", "ya29"} {
				if strings.Contains(text, secret) {
					t.Errorf("the report leaks a secret:\n%s", text)
				}
			}
			if s.accepted() != 0 {
				t.Errorf("the check sent %d mails", s.accepted())
			}
		})
	}
}
