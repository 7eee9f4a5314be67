package config

import (
	"log/slog"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	imap := "mailboxes:\n  - name: support\n    address: support@desk.example\n    department: Help Desk\n" +
		"  - name: billing\n    address: billing@desk.example\n    kind: imap\n    department: Help Desk\n" +
		"    imap:\n      host: imap.desk.example\n      username: billing\n      password_env: BILLING_PW\n" +
		"  - name: legacy\n    address: legacy@desk.example\n    kind: imap\n    department: Help Desk\n" +
		"    imap:\n      host: 127.0.0.1\n      tls: starttls\n      username: legacy\n      password_env: BILLING_PW\n"
	e := baseEnv()
	e["BILLING_PW"] = "pw"
	cfg := mustLoad(t, compose(map[string]string{"mailboxes": imap}), e)

	checks := []struct {
		name      string
		got, want any
	}{
		{"tickets.number_length", cfg.Tickets.NumberLength, 6},
		{"tickets.max_collaborators", cfg.Tickets.MaxCollaborators, 10},
		{"tickets.number_prefix", cfg.Tickets.NumberPrefix, ""},
		{"tickets.subject_token", cfg.Tickets.SubjectToken, "[#{number}]"},
		{"database.url_env", cfg.Database.URLEnv, "POSTDESK_DATABASE_URL"},
		{"database.migrate_on_start", cfg.Database.MigrateOnStart, true},
		{"database.max_conns", cfg.Database.MaxConns, 10},
		{"departments[0].notices.customer_ack", cfg.Departments[0].Notices.CustomerAck, true},
		{"departments[0].notices.customer_closed", cfg.Departments[0].Notices.CustomerClosed, false},
		{"departments[0].notices.agent_note", cfg.Departments[0].Notices.AgentNote, true},
		{"agents[0].username (local part)", cfg.Agents[0].Username, "ken"},
		{"agents[0].active", cfg.Agents[0].Active, true},
		{"mailboxes[0].kind", cfg.Mailboxes[0].Kind, KindSMTP},
		{"mailboxes[0].priority", cfg.Mailboxes[0].Priority, PriorityNormal},
		{"imap.port (implicit)", cfg.Mailboxes[1].IMAP.Port, 993},
		{"imap.port (starttls)", cfg.Mailboxes[2].IMAP.Port, 143},
		{"imap.tls", cfg.Mailboxes[1].IMAP.TLS, IMAPImplicit},
		{"imap.auth", cfg.Mailboxes[1].IMAP.Auth, IMAPLogin},
		{"imap.folder", cfg.Mailboxes[1].IMAP.Folder, "INBOX"},
		{"imap.after", cfg.Mailboxes[1].IMAP.After, AfterSeen},
		{"imap.poll_interval", cfg.Mailboxes[1].IMAP.PollInterval, 30 * time.Second},
		{"imap.idle", cfg.Mailboxes[1].IMAP.IDLE, true},
		{"listen.hostname", cfg.Listen.Hostname, "desk.example"},
		{"listen.max_message_size", cfg.Listen.MaxMessageSize, int64(25 * 1024 * 1024)},
		{"listen.memory_budget", cfg.Listen.MemoryBudget, int64(400 * 1024 * 1024)},
		{"listen.idle_timeout", cfg.Listen.IdleTimeout, 60 * time.Second},
		{"listen.session_timeout", cfg.Listen.SessionTimeout, 10 * time.Minute},
		{"listen.max_sessions", cfg.Listen.MaxSessions, 100},
		{"listen.max_sessions_per_ip", cfg.Listen.MaxSessionsPerIP, 50},
		{"listen.write_timeout", cfg.Listen.WriteTimeout, 60 * time.Second},
		{"listen.max_recipients", cfg.Listen.MaxRecipients, 100},
		{"listen.shutdown_grace", cfg.Listen.ShutdownGrace, 30 * time.Second},
		{"listen.postmaster", cfg.Listen.Postmaster, ""},
		{"relay.auth", cfg.Relay.Auth, RelayAuthNone},
		{"relay.timeout", cfg.Relay.Timeout, 30 * time.Second},
		{"relay.auto_reply_limit", cfg.Relay.AutoReplyLimit, 10},
		{"relay.retry.first", cfg.Relay.Retry.First, time.Minute},
		{"relay.retry.factor", cfg.Relay.Retry.Factor, 2.0},
		{"relay.retry.max_delay", cfg.Relay.Retry.MaxDelay, time.Hour},
		{"relay.retry.max_attempts", cfg.Relay.Retry.MaxAttempts, 25},
		{"agent_mail.unauthenticated", cfg.AgentMail.Unauthenticated, UnauthCustomer},
		{"log.format", cfg.Log.Format, LogText},
		{"log.level", cfg.Log.Level, slog.LevelInfo},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	// Relay defaults need a relay section that leaves port and tls out.
	cfg = mustLoad(t, compose(map[string]string{"relay": "relay:\n  host: smtp.desk.example\n"}), baseEnv())
	if cfg.Relay.Port != 587 || cfg.Relay.TLS != RelayMandatory {
		t.Errorf("relay port/tls = %d/%s, want 587/mandatory", cfg.Relay.Port, cfg.Relay.TLS)
	}
}

// read_timeout, idle_timeout's older name, still sets it.
func TestReadTimeoutIsIdleTimeout(t *testing.T) {
	cfg := mustLoad(t, compose(map[string]string{"listen": "listen:\n  smtp: :2525\n  read_timeout: 45s\n"}), baseEnv())
	if cfg.Listen.IdleTimeout != 45*time.Second {
		t.Fatalf("idle timeout %s, want 45s from read_timeout", cfg.Listen.IdleTimeout)
	}
}
