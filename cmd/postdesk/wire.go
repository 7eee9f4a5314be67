package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"

	"github.com/postdesk/postdesk/cmd/postdesk/config"
	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/intake/poller"
	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/web"
)

// intakeOptions maps the configuration onto the intake processor.
func intakeOptions(cfg *config.Config, log *slog.Logger) intake.Options {
	opts := intake.Options{
		MessageIDDomain: cfg.Organisation.MessageIDDomain,
		ReplySecret:     []byte(cfg.Tickets.ReplySecret.Reveal()),
		Ban:             cfg.Ban,
		AgentMail: intake.AgentMailPolicy{
			AuthservID:    cfg.AgentMail.AuthservID,
			TrustedRelays: cfg.AgentMail.TrustedRelays,
			TrustSocket:   cfg.AgentMail.TrustSocket,
			Quarantine:    cfg.AgentMail.Unauthenticated == config.UnauthQuarantine,
		},
		Postmaster: cfg.Listen.Postmaster,
		Logger:     log,
	}
	for _, m := range cfg.Mailboxes {
		if m.MachineMail == config.MachineMailQuarantine {
			if opts.QuarantineMachineMail == nil {
				opts.QuarantineMachineMail = map[string]bool{}
			}
			opts.QuarantineMachineMail[strings.ToLower(m.Address)] = true
		}
	}
	for _, d := range cfg.Departments {
		if d.Email != "" {
			opts.OwnAddresses = append(opts.OwnAddresses, d.Email)
		}
	}
	for i := range cfg.Filters {
		f := &cfg.Filters[i]
		opts.Filters = append(opts.Filters, intake.Filter{
			Name: f.Name, Match: f.Matches,
			HelpTopic: f.Set.HelpTopic, Department: f.Set.Department, Priority: ticket.Priority(f.Set.Priority),
			AddCollaborator: f.Set.AddCollaborator, Reject: f.Reject, Quarantine: f.Quarantine,
		})
	}
	return opts
}

// listenerConfigs returns the SMTP and LMTP listeners the configuration
// asks for, sharing one memory budget; onUse, when not nil, hears how much
// of it is in use.
func listenerConfigs(cfg *config.Config, log *slog.Logger, onUse func(int64)) ([]listener.Config, error) {
	l := cfg.Listen
	base := listener.Config{
		Hostname: l.Hostname, MaxMessageBytes: l.MaxMessageSize, MaxRecipients: l.MaxRecipients,
		ReadTimeout: l.IdleTimeout, WriteTimeout: l.WriteTimeout, SessionTimeout: l.SessionTimeout,
		MaxSessions: l.MaxSessions, MaxSessionsPerIP: l.MaxSessionsPerIP, Logger: log,
		Budget: listener.NewBudget(l.MemoryBudget, onUse), // one for the SMTP and LMTP listeners together
	}
	if l.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("listen.tls_cert: %w", err)
		}
		base.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var out []listener.Config
	if l.SMTP != "" {
		c := base
		c.Network, c.Addr = "tcp", l.SMTP
		out = append(out, c)
	}
	if l.LMTP != "" {
		c := base
		c.LMTP = true
		c.Network, c.Addr = l.LMTPNetwork()
		if c.Network == "unix" {
			c.TLS = nil
		}
		out = append(out, c)
	}
	return out, nil
}

// loadTemplates parses and checks every notice template the configuration
// uses: the defaults, the override directory and each department's.
func loadTemplates(cfg *config.Config) (*templates.Set, error) {
	depts := map[string]string{}
	for _, d := range cfg.Departments {
		if d.TemplatesDir != "" {
			depts[d.Name] = d.TemplatesDir
		}
	}
	return templates.Load(cfg.Templates.Dir, depts)
}

// mailerOptions maps the configuration onto the mailer.
func mailerOptions(cfg *config.Config, set *templates.Set, log *slog.Logger) (mailer.Options, error) {
	r := cfg.Relay
	opts := mailer.Options{
		OrgName: cfg.Organisation.Name, WebURL: cfg.Organisation.WebURL,
		MessageIDDomain: cfg.Organisation.MessageIDDomain,
		ReplySecret:     []byte(cfg.Tickets.ReplySecret.Reveal()),
		Mailboxes:       map[string]string{},
		Departments:     map[string]mailer.Notices{},
		Templates:       set,
		AutoReplyLimit:  r.AutoReplyLimit,
		Relay:           relayConfig(cfg),
		Queue: mailer.Queue{RetryBase: r.Retry.First, RetryFactor: r.Retry.Factor, RetryMax: r.Retry.MaxDelay,
			MaxAttempts: r.Retry.MaxAttempts},
		Logger: log,
	}
	for _, m := range cfg.Mailboxes {
		opts.Mailboxes[strings.ToLower(m.Address)] = m.DisplayName
	}
	for _, d := range cfg.Departments {
		opts.Departments[strings.ToLower(d.Name)] = mailer.Notices(d.Notices)
	}
	if k := r.DKIM; k != nil {
		signer, err := mailer.ReadDKIMKey(k.PrivateKeyFile)
		if err != nil {
			return opts, fmt.Errorf("relay.dkim: %w", err)
		}
		opts.DKIM = &mailer.DKIM{Domain: k.Domain, Selector: k.Selector, Signer: signer}
	}
	return opts, opts.Check()
}

// pollerMailboxes lists the IMAP mailboxes to poll.
func pollerMailboxes(cfg *config.Config) []poller.Mailbox {
	var boxes []poller.Mailbox
	for _, m := range cfg.Mailboxes {
		im := m.IMAP
		if m.Kind != config.KindIMAP || im == nil {
			continue
		}
		boxes = append(boxes, poller.Mailbox{Name: m.Name, Address: m.Address, Host: im.Host, Port: im.Port,
			TLS: string(im.TLS), AllowInsecure: im.AllowInsecure, Username: im.Username, Password: im.Password.Reveal(),
			Auth: string(im.Auth), TokenCommand: im.OAuthTokenCommand, TokenFile: im.OAuthTokenFile, Folder: im.Folder,
			After: string(im.After), MoveTo: im.MoveTo, PollInterval: im.PollInterval, IDLE: im.IDLE})
	}
	return boxes
}

// webOptions configures the web console.
func webOptions(cfg *config.Config, store *ticket.Store, log *slog.Logger) web.Options {
	return web.Options{
		Store: store, BaseURL: cfg.Web.BaseURL, OrgName: cfg.Organisation.Name,
		Sessions:   ticket.SessionTimes{Lifetime: cfg.Web.SessionLifetime, Idle: cfg.Web.SessionIdle},
		PerAddress: cfg.Web.SignInPerAddress, PerClient: cfg.Web.SignInPerClient, Window: cfg.Web.SignInWindow,
		Log: log,
	}
}
