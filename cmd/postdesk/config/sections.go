package config

import (
	"crypto/tls"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var (
	organisationKeys = []string{"name", "web_url", "message_id_domain"}
	databaseKeys     = []string{"url_env", "migrate_on_start", "max_conns"}
	ticketsKeys      = []string{"number_length", "number_prefix", "subject_token", "reply_secret_env", "max_collaborators"}
	listenKeys       = []string{"smtp", "lmtp", "http", "hostname", "max_message_size", "read_timeout",
		"write_timeout", "max_recipients", "tls_cert", "tls_key", "shutdown_grace", "postmaster",
		"idle_timeout", "session_timeout", "max_sessions", "max_sessions_per_ip", "memory_budget"}
	agentMailKeys = []string{"authserv_id", "trusted_relays", "unauthenticated"}
	logKeys       = []string{"format", "level"}
)

// Defaults that the rest of postdesk may want to show or reuse.
const (
	DefaultDatabaseURLEnv = "POSTDESK_DATABASE_URL"
	DefaultSubjectToken   = "[#{number}]"
	DefaultMaxMessageSize = 25 << 20
	minReplySecret        = 16
)

func (d *decoder) organisation(o *object) Organisation {
	org := Organisation{
		Name:            o.required("name"),
		WebURL:          o.str("web_url"),
		MessageIDDomain: strings.ToLower(o.required("message_id_domain")),
	}
	o.headerSafe("name", org.Name)
	if org.WebURL != "" {
		u, err := url.Parse(org.WebURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			o.errf("web_url", "must be an http:// or https:// URL, got %q", org.WebURL)
		}
	}
	if org.MessageIDDomain != "" {
		if err := checkDomain(org.MessageIDDomain); err != nil {
			o.errf("message_id_domain", "%v", err)
		}
	}
	return org
}

func (d *decoder) database(o *object) Database {
	db := Database{
		URLEnv:         o.envName("url_env", false),
		MigrateOnStart: o.boolean("migrate_on_start", true),
		MaxConns:       o.integer("max_conns", 10, 1, 1000),
	}
	if db.URLEnv == "" && o.str("url_env") == "" {
		db.URLEnv = DefaultDatabaseURLEnv
	}
	if db.URLEnv != "" {
		db.URL = Secret(d.env(db.URLEnv)) // may be empty: the caller decides
	}
	return db
}

var numberPrefix = regexp.MustCompile(`^[A-Z0-9-]{0,8}$`)

func (d *decoder) tickets(o *object) Tickets {
	t := Tickets{
		NumberLength: o.integer("number_length", 6, 4, 12),
		NumberPrefix: o.str("number_prefix"),
		SubjectToken: o.str("subject_token"),
		// A mail's Cc may name hundreds of strangers; each would be mailed
		// every later reply. 0 adds none.
		MaxCollaborators: o.integer("max_collaborators", 10, 0, 1000),
	}
	if !numberPrefix.MatchString(t.NumberPrefix) {
		o.errf("number_prefix", "must be at most 8 characters A-Z, 0-9 or -, got %q", t.NumberPrefix)
	}
	if !o.has("subject_token") {
		t.SubjectToken = DefaultSubjectToken
	} else if strings.Count(t.SubjectToken, "{number}") != 1 {
		o.errf("subject_token", "must contain {number} exactly once, got %q", t.SubjectToken)
	} else {
		o.headerSafe("subject_token", t.SubjectToken)
	}
	t.ReplySecretEnv, t.ReplySecret = o.secret("reply_secret_env", true)
	if t.ReplySecret != "" && len(t.ReplySecret) < minReplySecret {
		o.errf("reply_secret_env", "environment variable %s is too short: %d bytes, need at least %d",
			t.ReplySecretEnv, len(t.ReplySecret), minReplySecret)
	}
	return t
}

func (d *decoder) listen(o *object, domain string) Listen {
	l := Listen{
		SMTP:           o.hostPort("smtp"),
		LMTP:           d.lmtp(o),
		HTTP:           o.hostPort("http"),
		Hostname:       strings.ToLower(o.str("hostname")),
		MaxMessageSize: o.size("max_message_size", DefaultMaxMessageSize),
		IdleTimeout:    o.duration("idle_timeout", 60*time.Second, time.Second),
		SessionTimeout: o.duration("session_timeout", 10*time.Minute, time.Second),
		WriteTimeout:   o.duration("write_timeout", 60*time.Second, time.Second),
		MaxRecipients:  o.integer("max_recipients", 100, 1, 10000),
		// As Postfix: 100 processes, half of them for one client.
		MaxSessions:      o.integer("max_sessions", 100, 1, 100000),
		MaxSessionsPerIP: o.integer("max_sessions_per_ip", 50, 1, 100000),
		TLSCert:          o.file("tls_cert", false),
		TLSKey:           o.file("tls_key", false),
		ShutdownGrace:    o.duration("shutdown_grace", 30*time.Second, 0),
		Postmaster:       strings.ToLower(strings.TrimSpace(o.str("postmaster"))),
	}
	l.MemoryBudget = o.size("memory_budget", max(16*l.MaxMessageSize, 256<<20))
	// A mail costs about four times its size while it is taken in (see
	// intake/listener/budget.go), with some room: the largest one must fit.
	if o.has("memory_budget") && l.MemoryBudget < 5*l.MaxMessageSize {
		o.errf("memory_budget", "must be at least 5 × max_message_size (%s), the memory one mail of that size may take, got %s",
			sizeWords(5*l.MaxMessageSize), sizeWords(l.MemoryBudget))
	}
	// read_timeout is idle_timeout's older name.
	if o.has("read_timeout") {
		if o.has("idle_timeout") {
			o.errf("read_timeout", "is the older name of idle_timeout: give only idle_timeout")
		} else {
			l.IdleTimeout = o.duration("read_timeout", 60*time.Second, time.Second)
		}
	}
	if l.MaxSessionsPerIP > l.MaxSessions {
		o.errf("max_sessions_per_ip", "must not be more than max_sessions (%d), got %d", l.MaxSessions, l.MaxSessionsPerIP)
	}
	if l.SessionTimeout < l.IdleTimeout {
		o.errf("session_timeout", "must not be shorter than idle_timeout (%s), got %s", l.IdleTimeout, l.SessionTimeout)
	}
	if l.Hostname == "" {
		l.Hostname = domain
	} else if err := checkDomain(l.Hostname); err != nil {
		o.errf("hostname", "%v", err)
	}
	switch {
	case (l.TLSCert == "") != (l.TLSKey == ""):
		key := "tls_key" // point at the one that is given
		if l.TLSCert != "" {
			key = "tls_cert"
		}
		o.errf(key, "tls_cert and tls_key must be given together")
	case l.TLSCert != "":
		if _, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey); err != nil {
			o.errf("tls_cert", "cannot load certificate and key: %v", err)
		}
	}
	return l
}

// postmaster checks listen.postmaster once the mailboxes are known: mail
// to postmaster goes to one of them, as mail to its address would.
func (d *decoder) postmaster(o *object, c *Config) {
	pm := c.Listen.Postmaster
	if pm == "" {
		return
	}
	if m := c.mailboxExact(pm); m == nil {
		var known []string
		for _, m := range c.Mailboxes {
			known = append(known, m.Address)
		}
		o.errf("postmaster", "%s is the address of no mailbox%s", pm, hint(pm, known))
	}
}

// lmtp accepts host:port or unix:/path; a relative socket path is made
// absolute against the config directory.
func (d *decoder) lmtp(o *object) string {
	s := o.str("lmtp")
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		if p == "" {
			o.errf("lmtp", "unix: needs a socket path, such as unix:/run/postdesk/lmtp.sock")
			return ""
		}
		return "unix:" + d.abs(p)
	}
	return o.hostPort("lmtp")
}

// LMTPNetwork splits Listen.LMTP into the arguments of net.Listen:
// ("unix", path) or ("tcp", host:port). It returns "", "" when LMTP is off.
func (l Listen) LMTPNetwork() (network, address string) {
	if l.LMTP == "" {
		return "", ""
	}
	if p, ok := strings.CutPrefix(l.LMTP, "unix:"); ok {
		return "unix", p
	}
	return "tcp", l.LMTP
}

func (d *decoder) agentMail(o *object) AgentMail {
	a := AgentMail{
		AuthservID:      o.str("authserv_id"),
		Unauthenticated: enum(o, "unauthenticated", UnauthCustomer, UnauthCustomer, UnauthQuarantine),
	}
	a.TrustedRelays, a.TrustSocket = d.trustedRelays(o, "trusted_relays")
	if a.AuthservID == "" && (len(a.TrustedRelays) > 0 || a.TrustSocket) {
		o.errf("trusted_relays", "trusts the Authentication-Results of no one without agent_mail.authserv_id: "+
			"set the authserv-id your relay writes")
	}
	return a
}

// trustedRelays decodes the peers whose Authentication-Results are
// believed: IP addresses and CIDR ranges, and "unix" for the LMTP socket.
func (d *decoder) trustedRelays(o *object, key string) (relays []netip.Prefix, socket bool) {
	for i, n := range o.list(key) {
		path := join(o.path, index(key, i))
		s := d.refName(n, path)
		switch {
		case s == "":
			continue
		case strings.EqualFold(s, "unix"):
			socket = true
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil || addr.Zone() != "" {
				d.add(n, path, "%q is not an IP address or CIDR range (e.g. 127.0.0.1, 10.0.0.0/8, ::1), nor unix", s)
				continue
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		if p.Masked() != p {
			d.add(n, path, "%s has host bits set: write %s", s, p.Masked())
			continue
		}
		relays = append(relays, p)
	}
	return relays, socket
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

func (d *decoder) log(o *object) Log {
	level := enum(o, "level", "info", "debug", "info", "warn", "error")
	return Log{
		Format: enum(o, "format", LogText, LogText, LogJSON),
		Level:  logLevels[level],
	}
}
