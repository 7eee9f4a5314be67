package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/postdesk/postdesk/cmd/postdesk/config"
	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/ticket"
)

// intakeOptions maps the configuration onto the intake processor.
func intakeOptions(cfg *config.Config, log *slog.Logger) intake.Options {
	opts := intake.Options{
		MessageIDDomain: cfg.Organisation.MessageIDDomain,
		ReplySecret:     []byte(cfg.Tickets.ReplySecret.Reveal()),
		Ban:             cfg.Ban,
		AgentMail: intake.AgentMailPolicy{
			AuthservID: cfg.AgentMail.AuthservID,
			Quarantine: cfg.AgentMail.Unauthenticated == config.UnauthQuarantine,
		},
		Logger: log,
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

// listenerConfigs returns the SMTP and LMTP listeners the configuration asks for.
func listenerConfigs(cfg *config.Config, log *slog.Logger) ([]intake.ListenerConfig, error) {
	l := cfg.Listen
	base := intake.ListenerConfig{
		Hostname: l.Hostname, MaxMessageBytes: l.MaxMessageSize, MaxRecipients: l.MaxRecipients,
		ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout, Logger: log,
	}
	if l.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("listen.tls_cert: %w", err)
		}
		base.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var out []intake.ListenerConfig
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
