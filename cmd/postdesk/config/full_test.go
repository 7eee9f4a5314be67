package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// writeKeyPair writes a PKCS#8 Ed25519 key and a self-signed certificate
// for it into dir.
func writeKeyPair(t *testing.T, dir, keyName, certName string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.desk.example"},
		DNSNames: []string{"mx.desk.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(keyName, "PRIVATE KEY", der)
	write(certName, "CERTIFICATE", cert)
}

// fullConfig uses every section; its paths are relative to the file.
const fullConfig = `
organisation: {name: Test Desk, web_url: "https://desk.example/", message_id_domain: Desk.Example}
database: {url_env: DESK_DB, migrate_on_start: false, max_conns: 4}
tickets:
  number_length: 8
  number_prefix: TD-
  subject_token: "{Ticket {number}}"
  reply_secret_env: POSTDESK_REPLY_SECRET
departments:
  - name: Help Desk
    email: helpdesk@desk.example
    notices: {customer_ack: false, customer_closed: true}
    templates_dir: tpl/helpdesk
  - name: Billing
agents:
  - name: Ken Jay
    email: Ken.Jay@desk.example
    departments: [help desk, BILLING]
    active: false
help_topics:
  - {name: Invoices, department: billing, priority: high}
mailboxes:
  - name: support
    address: support@desk.example
    help_topic: invoices
    priority: low
  - name: billing
    address: billing@desk.example
    kind: imap
    help_topic: Invoices
    imap: &imap
      host: imap.desk.example
      port: 1993
      tls: starttls
      username: billing
      auth: xoauth2
      oauth_token_file: secrets/token
      after: move
      move_to: Done
      poll_interval: 2m
      idle: false
  - name: sales
    address: sales@desk.example
    kind: imap
    department: Billing
    imap:
      <<: *imap
      username: sales
listen:
  smtp: ":25"
  lmtp: unix:run/lmtp.sock
  hostname: MX.desk.example
  max_message_size: 10 MB
  tls_cert: tls/cert.pem
  tls_key: tls/key.pem
relay:
  host: smtp.desk.example
  port: 465
  auth: xoauth2
  username: desk@desk.example
  oauth_token_command: /usr/local/bin/token desk
  dkim: {domain: desk.example, selector: pd2024, private_key_file: tls/key.pem}
  auto_reply_limit: 3
templates: {dir: tpl}
filters:
  - name: vip
    match: {from: "@BigCorp.example"}
    set: {priority: emergency, department: help desk, add_collaborator: am@desk.example}
  - name: fraud
    match: {subject: '^invoice \d+ overdue$', regexp: true}
    quarantine: invoice fraud
ban: [Spammer@Example.com, "@spam.example"]
agent_mail: {authserv_id: mx.desk.example, trusted_relays: [127.0.0.1, "10.1.0.0/16", "::ffff:192.0.2.7", unix], unauthenticated: quarantine}
log: {format: json, level: debug}
`

func TestFullConfig(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"tpl/helpdesk", "secrets", "tls"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets/token"), []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeKeyPair(t, filepath.Join(dir, "tls"), "key.pem", "cert.pem")
	path := filepath.Join(dir, "postdesk.yaml")
	if err := os.WriteFile(path, []byte(fullConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, env(baseEnv()))
	if err != nil {
		t.Fatal(err)
	}

	if cfg.Organisation.MessageIDDomain != "desk.example" || cfg.Database.URLEnv != "DESK_DB" || !cfg.Database.URLMissing() ||
		cfg.Database.MigrateOnStart || cfg.Database.MaxConns != 4 {
		t.Errorf("organisation/database = %+v %+v", cfg.Organisation, cfg.Database)
	}
	if cfg.Tickets.NumberLength != 8 || cfg.Tickets.NumberPrefix != "TD-" || cfg.Tickets.SubjectToken != "{Ticket {number}}" {
		t.Errorf("tickets = %+v", cfg.Tickets)
	}
	hd := cfg.Department("HELP DESK")
	if hd == nil || hd.Notices.CustomerAck || !hd.Notices.CustomerClosed || !hd.Notices.AgentNewTicket ||
		hd.TemplatesDir != filepath.Join(dir, "tpl/helpdesk") {
		t.Errorf("help desk = %+v", hd)
	}
	// References are rewritten to the spelling of what they name.
	ken := cfg.Agent("ken.jay")
	if ken == nil || !slices.Equal(ken.Departments, []string{"Help Desk", "Billing"}) || ken.Active {
		t.Errorf("agent = %+v", ken)
	}
	if cfg.HelpTopics[0].Department != "Billing" || cfg.HelpTopics[0].Priority != PriorityHigh {
		t.Errorf("help topic = %+v", cfg.HelpTopics[0])
	}
	// An explicit priority wins over the help topic's.
	if m := cfg.Mailbox("support"); m.HelpTopic != "Invoices" || m.Department != "Billing" || m.Priority != PriorityLow {
		t.Errorf("support = %+v", m)
	}
	billing := cfg.Mailbox("billing")
	want := IMAP{Host: "imap.desk.example", Port: 1993, TLS: IMAPStartTLS, Username: "billing", Auth: IMAPXOAUTH2,
		OAuthTokenFile: filepath.Join(dir, "secrets/token"), Folder: "INBOX", After: AfterMove, MoveTo: "Done",
		PollInterval: 2 * time.Minute}
	if billing.IMAP == nil || *billing.IMAP != want || billing.Priority != PriorityHigh {
		t.Errorf("billing imap = %+v\nwant %+v", billing.IMAP, want)
	}
	// The merge key copies the anchor; the key written beside it wins.
	sales := cfg.Mailbox("sales").IMAP
	if sales == nil || sales.Username != "sales" || sales.Host != "imap.desk.example" || sales.MoveTo != "Done" {
		t.Errorf("sales imap = %+v", sales)
	}

	l := cfg.Listen
	if l.SMTP != ":25" || l.Hostname != "mx.desk.example" || l.MaxMessageSize != 10_000_000 ||
		l.TLSCert != filepath.Join(dir, "tls/cert.pem") || l.TLSKey != filepath.Join(dir, "tls/key.pem") {
		t.Errorf("listen = %+v", l)
	}
	if n, a := l.LMTPNetwork(); n != "unix" || a != filepath.Join(dir, "run/lmtp.sock") {
		t.Errorf("LMTPNetwork = %s %s", n, a)
	}
	r := cfg.Relay
	if r.Port != 465 || r.TLS != RelayMandatory || r.Auth != RelayAuthXOAUTH2 || r.OAuthTokenCommand != "/usr/local/bin/token desk" ||
		r.DKIM == nil || r.DKIM.Selector != "pd2024" || r.DKIM.PrivateKeyFile != filepath.Join(dir, "tls/key.pem") || r.AutoReplyLimit != 3 {
		t.Errorf("relay = %+v dkim=%+v", r, r.DKIM)
	}
	if cfg.Templates.Dir != filepath.Join(dir, "tpl") {
		t.Errorf("templates dir = %q", cfg.Templates.Dir)
	}
	if len(cfg.Filters) != 2 || cfg.Filters[0].Set.Department != "Help Desk" || cfg.Filters[0].Set.Priority != PriorityEmergency ||
		cfg.Filters[1].Quarantine != "invoice fraud" {
		t.Errorf("filters = %+v", cfg.Filters)
	}
	if !cfg.Filters[0].Matches("ceo@bigcorp.example", nil, "hello", "") || !cfg.Filters[1].Matches("x@y", nil, "invoice 42 overdue", "") {
		t.Error("filters from the file do not match what they should")
	}
	if !slices.Equal(cfg.Ban, []string{"spammer@example.com", "@spam.example"}) {
		t.Errorf("ban = %q", cfg.Ban)
	}
	relays := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("192.0.2.7/32")}
	if a := cfg.AgentMail; a.AuthservID != "mx.desk.example" || a.Unauthenticated != UnauthQuarantine ||
		!slices.Equal(a.TrustedRelays, relays) || !a.TrustSocket ||
		cfg.Log != (Log{Format: LogJSON, Level: slog.LevelDebug}) {
		t.Errorf("agent_mail/log = %+v %+v", cfg.AgentMail, cfg.Log)
	}
}
