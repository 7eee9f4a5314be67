package config

import (
	"strings"
	"testing"
)

func TestEnvReferencesInValues(t *testing.T) {
	text := compose(map[string]string{
		"listen": "listen:\n  smtp: ${SMTP_LISTEN:-127.0.0.1:2525}\n",
		"relay":  "relay:\n  host: ${RELAY_HOST:-127.0.0.1}\n  port: ${RELAY_PORT:-1025}\n  tls: none\n",
	})
	c := mustLoad(t, text, baseEnv())
	if c.Listen.SMTP != "127.0.0.1:2525" || c.Relay.Host != "127.0.0.1" || c.Relay.Port != 1025 {
		t.Fatalf("defaults: smtp %q relay %q:%d", c.Listen.SMTP, c.Relay.Host, c.Relay.Port)
	}
	e := baseEnv()
	e["SMTP_LISTEN"], e["RELAY_HOST"], e["RELAY_PORT"] = "0.0.0.0:25", "::1", "2025"
	c = mustLoad(t, text, e)
	if c.Listen.SMTP != "0.0.0.0:25" || c.Relay.Host != "::1" || c.Relay.Port != 2025 {
		t.Fatalf("from env: smtp %q relay %q:%d", c.Listen.SMTP, c.Relay.Host, c.Relay.Port)
	}
	bad := strings.Replace(text, "${RELAY_HOST:-127.0.0.1}", "${NO_SUCH_VAR}", 1)
	cfg, err := loadText(t, bad, baseEnv())
	ps := problems(t, cfg, err)
	if len(ps) == 0 || !strings.Contains(ps[0].Message, "environment variable NO_SUCH_VAR is not set") || ps[0].Line == 0 {
		t.Fatalf("unset variable: %+v", ps)
	}
}
