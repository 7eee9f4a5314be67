package config

import (
	"path/filepath"
	"slices"
	"testing"
)

// examplePath is the shipped example, relative to this package.
var examplePath = filepath.Join("..", "..", "..", "examples", "postdesk.yaml")

func TestExampleLoads(t *testing.T) {
	cfg, err := Load(examplePath, env(map[string]string{"POSTDESK_REPLY_SECRET": replySecret}))
	if err != nil {
		t.Fatalf("the shipped example must load cleanly:\n%v", err)
	}

	if cfg.Organisation.Name != "Bank Example Support" || cfg.Organisation.MessageIDDomain != "bank.example" {
		t.Errorf("organisation = %+v", cfg.Organisation)
	}
	if got := cfg.Tickets.ReplySecret.Reveal(); got != replySecret {
		t.Errorf("reply secret not resolved from the environment: got %d bytes", len(got))
	}
	if !cfg.Database.URLMissing() || cfg.Database.URLEnv != "POSTDESK_DATABASE_URL" {
		t.Errorf("database: URLMissing=%v URLEnv=%q, want true and POSTDESK_DATABASE_URL", cfg.Database.URLMissing(), cfg.Database.URLEnv)
	}

	var deps []string
	for _, d := range cfg.Departments {
		deps = append(deps, d.Name+" <"+d.Email+">")
	}
	if want := []string{"Help Desk <helpdesk@bank.example>", "System Administrators <sysadmins@bank.example>"}; !slices.Equal(deps, want) {
		t.Errorf("departments = %q, want %q", deps, want)
	}

	ken := cfg.Agent("ken")
	if ken == nil || ken.Name != "Ken Jay" || ken.Email != "ken.jay@bank.example" || !slices.Equal(ken.Departments, []string{"Help Desk"}) || !ken.Active {
		t.Errorf("agent ken = %+v", ken)
	}
	mary := cfg.Agent("Mary@Bank.Example")
	if mary == nil || mary.Username != "mary" || !slices.Equal(mary.Departments, []string{"System Administrators"}) {
		t.Errorf("agent mary = %+v", mary)
	}

	topic := cfg.HelpTopic("business critical outage")
	if topic == nil || topic.Department != "Help Desk" || topic.Priority != PriorityEmergency {
		t.Errorf("help topic = %+v", topic)
	}

	support := cfg.MailboxByAddress("support@bank.example")
	if support == nil || support.Name != "support" || support.Kind != KindSMTP || support.Department != "Help Desk" ||
		support.Priority != PriorityNormal || support.DisplayName != "Bank Support" || support.IMAP != nil {
		t.Errorf("support mailbox = %+v", support)
	}
	// The outage mailbox names only a help topic: department and priority
	// come from it.
	outage := cfg.Mailbox("outage")
	if outage == nil || outage.Address != "outage@bank.example" || outage.HelpTopic != "Business critical outage" ||
		outage.Department != "Help Desk" || outage.Priority != PriorityEmergency || outage.DisplayName != "Bank Outage Desk" {
		t.Errorf("outage mailbox = %+v", outage)
	}
	if len(cfg.Mailboxes) != 2 {
		t.Errorf("got %d mailboxes, want 2 (the imap one is commented out)", len(cfg.Mailboxes))
	}

	if cfg.Listen.SMTP != "127.0.0.1:2525" || cfg.Listen.HTTP != "127.0.0.1:8080" || cfg.Listen.Hostname != "bank.example" {
		t.Errorf("listen = %+v", cfg.Listen)
	}
	if cfg.Relay.Host != "127.0.0.1" || cfg.Relay.Port != 1025 || cfg.Relay.TLS != RelayNoTLS || cfg.Relay.Auth != RelayAuthNone {
		t.Errorf("relay = %+v", cfg.Relay)
	}
	if want := (RelayRetry{First: DefaultRetryFirst, Factor: DefaultRetryFactor, MaxDelay: DefaultRetryMaxDelay,
		MaxAttempts: DefaultRetryMaxAttempts}); cfg.Relay.Retry != want {
		t.Errorf("relay.retry = %+v, want the defaults %+v", cfg.Relay.Retry, want)
	}
	if len(cfg.Filters) != 0 || len(cfg.Ban) != 0 {
		t.Errorf("filters and ban are only commented examples: got %d filters, %d bans", len(cfg.Filters), len(cfg.Ban))
	}
	if abs, _ := filepath.Abs(examplePath); cfg.File != abs {
		t.Errorf("File = %q, want %q", cfg.File, abs)
	}
}

func TestExampleNeedsReplySecret(t *testing.T) {
	cfg, err := Load(examplePath, env(nil))
	ps := problems(t, cfg, err)
	if len(ps) != 1 || ps[0].Path != "tickets.reply_secret_env" ||
		ps[0].Message != "missing secret: environment variable POSTDESK_REPLY_SECRET is not set" {
		t.Fatalf("problems = %v", err)
	}
}
