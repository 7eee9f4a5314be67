package config

import (
	"regexp"
	"time"
)

var (
	mailboxKeys = []string{"name", "address", "display_name", "kind", "department", "help_topic", "priority", "machine_mail", "imap"}
	imapKeys    = []string{"host", "port", "tls", "allow_insecure", "username", "auth", "password_env",
		"oauth_token_command", "oauth_token_file", "folder", "after", "move_to", "poll_interval", "idle"}
	mailboxName = regexp.MustCompile(`^[a-z0-9_-]+$`)
)

// mailboxes decodes the mailbox list. Listen must already be decoded: an
// smtp mailbox needs a listener.
func (d *decoder) mailboxes(r *object, key string, c *Config) []Mailbox {
	objs := d.items(r, key, mailboxKeys, true)
	out := make([]Mailbox, 0, len(objs))
	names, addrs := newUniq("mailbox name"), newUniq("mailbox address")
	for _, o := range objs {
		i := len(out)
		m := Mailbox{
			Name:        o.required("name"),
			Address:     o.address("address", true),
			DisplayName: o.str("display_name"),
			Kind:        enum(o, "kind", KindSMTP, KindSMTP, KindIMAP),
			Department:  o.str("department"),
			HelpTopic:   o.str("help_topic"),
			Priority:    enum(o, "priority", "", priorities...), // "" until help topics are known
			MachineMail: enum(o, "machine_mail", MachineMailTicket, MachineMailTicket, MachineMailQuarantine),
		}
		if m.Name != "" && !mailboxName.MatchString(m.Name) {
			o.errf("name", "mailbox name %q may only hold a-z, 0-9, '_' and '-'", m.Name)
		}
		names.check(o, "name", m.Name)
		addrs.check(o, "address", m.Address)
		o.headerSafe("display_name", m.DisplayName)
		if m.Department == "" && m.HelpTopic == "" {
			o.errf("department", "missing required value: set department or help_topic")
		}
		d.refDepartment(o, "department", m.Department, func(s string) { c.Mailboxes[i].Department = s })
		d.refHelpTopic(o, "help_topic", m.HelpTopic, func(s string) { c.Mailboxes[i].HelpTopic = s })
		switch {
		case m.Kind == KindIMAP:
			m.IMAP = d.imap(o.child("imap", imapKeys))
		case o.has("imap"):
			o.errf("imap", "imap settings are only allowed with kind: imap")
		case c.Listen.SMTP == "" && c.Listen.LMTP == "":
			o.errf("kind", "kind: smtp needs listen.smtp or listen.lmtp to receive mail")
		}
		out = append(out, m)
	}
	return out
}

func (d *decoder) imap(o *object) *IMAP {
	m := &IMAP{
		Host:          o.required("host"),
		TLS:           enum(o, "tls", IMAPImplicit, IMAPImplicit, IMAPStartTLS, IMAPNoTLS),
		AllowInsecure: o.boolean("allow_insecure", false),
		Username:      o.required("username"),
		Auth:          enum(o, "auth", IMAPLogin, IMAPLogin, IMAPXOAUTH2),
		Folder:        o.str("folder"),
		After:         enum(o, "after", AfterSeen, AfterSeen, AfterMove),
		PollInterval:  o.duration("poll_interval", 30*time.Second, time.Second),
		IDLE:          o.boolean("idle", true),
	}
	o.host("host", m.Host)
	defPort := 993
	if m.TLS != IMAPImplicit {
		defPort = 143
	}
	m.Port = o.integer("port", defPort, 1, 65535)
	if m.Folder == "" {
		m.Folder = "INBOX"
	}
	switch m.Auth {
	case IMAPLogin:
		m.PasswordEnv, m.Password = o.secret("password_env", true)
		for _, k := range []string{"oauth_token_command", "oauth_token_file"} {
			if o.str(k) != "" {
				o.errf(k, "is only used with auth: xoauth2")
			}
		}
	case IMAPXOAUTH2:
		m.OAuthTokenCommand = o.str("oauth_token_command")
		m.OAuthTokenFile = o.file("oauth_token_file", false)
		if (m.OAuthTokenCommand == "") == (m.OAuthTokenFile == "") {
			o.errf("oauth_token_command", "auth: xoauth2 needs exactly one of oauth_token_command and oauth_token_file")
		}
		if o.str("password_env") != "" {
			o.errf("password_env", "is not used with auth: xoauth2")
		}
	}
	if m.After == AfterMove {
		m.MoveTo = o.required("move_to")
	} else if o.str("move_to") != "" {
		o.errf("move_to", "is only used with after: move")
	}
	if m.TLS == IMAPNoTLS && m.Host != "" && !isLoopback(m.Host) && !m.AllowInsecure {
		o.errf("tls", "tls: none would send the IMAP password in clear text to %s; use implicit or starttls, or set allow_insecure: true on a trusted network", m.Host)
	}
	return m
}
