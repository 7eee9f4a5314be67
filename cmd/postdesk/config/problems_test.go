package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// followOn names cases whose problem rightly brings others with it.
var followOn = map[string]bool{
	"no departments":        true, // the mailbox's department is then unknown
	"imap section missing":  true, // host, username and password_env are all missing
	"section of wrong type": true, // the smtp mailbox then has no listener
}

// TestProblems changes one section of a valid file at a time and expects
// exactly one problem, at the right path, saying the right thing.
func TestProblems(t *testing.T) {
	imapBox := func(imap string) string {
		return "mailboxes:\n  - name: billing\n    address: billing@desk.example\n    kind: imap\n    department: Help Desk\n    imap:\n" + imap
	}
	for _, tc := range []struct {
		name    string
		replace map[string]string
		path    string
		msg     string
	}{
		{"missing organisation name", map[string]string{"organisation": "organisation:\n  message_id_domain: desk.example\n"},
			"organisation.name", "missing required value"},
		{"bad message id domain", map[string]string{"organisation": "organisation:\n  name: x\n  message_id_domain: desk_example\n"},
			"organisation.message_id_domain", `invalid domain "desk_example"`},
		{"web url not http", map[string]string{"organisation": "organisation:\n  name: x\n  message_id_domain: d.example\n  web_url: ftp://d.example\n"},
			"organisation.web_url", "must be an http:// or https:// URL"},
		{"line break in name", map[string]string{"organisation": "organisation:\n  name: \"Desk\\nBcc: x@y\"\n  message_id_domain: d.example\n"},
			"organisation.name", "must not contain line breaks"},
		{"wrong type", map[string]string{"organisation": "organisation:\n  name: [a, b]\n  message_id_domain: d.example\n"},
			"organisation.name", `expected a string, got a list`},
		{"duplicate key", map[string]string{"organisation": "organisation:\n  name: a\n  name: b\n  message_id_domain: d.example\n"},
			"organisation.name", `key "name" is given twice`},
		{"unknown top-level key", map[string]string{"log": "mailbox: {}\n"},
			"mailbox", `unknown key "mailbox" (did you mean "mailboxes"?)`},
		{"number length range", map[string]string{"tickets": "tickets:\n  number_length: 3\n  reply_secret_env: POSTDESK_REPLY_SECRET\n"},
			"tickets.number_length", "must be between 4 and 12, got 3"},
		{"quoted integer", map[string]string{"tickets": "tickets:\n  number_length: \"6\"\n  reply_secret_env: POSTDESK_REPLY_SECRET\n"},
			"tickets.number_length", `expected an integer, got "6"`},
		{"subject token without number", map[string]string{"tickets": "tickets:\n  subject_token: \"[#]\"\n  reply_secret_env: POSTDESK_REPLY_SECRET\n"},
			"tickets.subject_token", "must contain {number} exactly once"},
		{"number prefix", map[string]string{"tickets": "tickets:\n  number_prefix: td\n  reply_secret_env: POSTDESK_REPLY_SECRET\n"},
			"tickets.number_prefix", "at most 8 characters A-Z"},
		{"reply secret missing key", map[string]string{"tickets": "tickets:\n  number_length: 6\n"},
			"tickets.reply_secret_env", "missing required value"},
		{"no departments", map[string]string{"departments": "departments: []\n", "agents": ""},
			"departments", "at least one entry is required"},
		{"duplicate department", map[string]string{"departments": "departments:\n  - name: Help Desk\n  - name: help desk\n"},
			"departments[1].name", `duplicate department name "help desk"`},
		{"department email is a mailbox", map[string]string{"departments": "departments:\n  - name: Help Desk\n    email: Support+x@desk.example\n"},
			"departments[0].email", `is the address of mailbox "support"`},
		{"templates dir missing", map[string]string{"departments": "departments:\n  - name: Help Desk\n    templates_dir: nope\n"},
			"departments[0].templates_dir", "nope does not exist"},
		{"notice not a bool", map[string]string{"departments": "departments:\n  - name: Help Desk\n    notices: {customer_ack: yes}\n"},
			"departments[0].notices.customer_ack", `expected true or false, got "yes"`},
		{"agent without departments", map[string]string{"agents": "agents:\n  - name: K\n    email: k@desk.example\n"},
			"agents[0].departments", "at least one entry is required"},
		{"agent email missing @", map[string]string{"agents": "agents:\n  - name: K\n    email: k.desk.example\n    departments: [Help Desk]\n"},
			"agents[0].email", `invalid email address "k.desk.example": missing @`},
		{"derived username taken", map[string]string{"agents": "agents:\n  - {name: A, email: ken@a.example, departments: [Help Desk]}\n  - {name: B, email: ken@b.example, departments: [Help Desk]}\n"},
			"agents[1].email", `username "ken" (the email's local part) is already taken`},
		{"duplicate username", map[string]string{"agents": "agents:\n  - {name: A, email: a@x.example, username: kj, departments: [Help Desk]}\n  - {name: B, email: b@x.example, username: KJ, departments: [Help Desk]}\n"},
			"agents[1].username", `duplicate username "kj"`},
		{"agent uses a mailbox address", map[string]string{"agents": "agents:\n  - {name: A, email: support@desk.example, username: a, departments: [Help Desk]}\n"},
			"agents[0].email", "is the address of mailbox"},
		{"help topic priority typo", map[string]string{"help_topics": "help_topics:\n  - {name: T, department: Help Desk, priority: emergancy}\n"},
			"help_topics[0].priority", `(did you mean "emergency"?)`},
		{"mailbox without department", map[string]string{"mailboxes": "mailboxes:\n  - name: support\n    address: support@desk.example\n"},
			"mailboxes[0].department", "set department or help_topic"},
		{"mailbox name", map[string]string{"mailboxes": "mailboxes:\n  - name: Support Desk\n    address: support@desk.example\n    department: Help Desk\n"},
			"mailboxes[0].name", "may only hold a-z"},
		{"duplicate mailbox address", map[string]string{"mailboxes": "mailboxes:\n  - {name: a, address: s@desk.example, department: Help Desk}\n  - {name: b, address: S@Desk.Example, department: Help Desk}\n"},
			"mailboxes[1].address", "duplicate mailbox address"},
		{"imap on an smtp mailbox", map[string]string{"mailboxes": "mailboxes:\n  - name: s\n    address: s@desk.example\n    department: Help Desk\n    imap: {host: h}\n"},
			"mailboxes[0].imap", "only allowed with kind: imap"},
		{"smtp mailbox without listener", map[string]string{"listen": "listen:\n  http: 127.0.0.1:8025\n"},
			"mailboxes[0].kind", "needs listen.smtp or listen.lmtp"},
		{"imap section missing", map[string]string{"mailboxes": "mailboxes:\n  - name: b\n    address: b@desk.example\n    kind: imap\n    department: Help Desk\n"},
			"mailboxes[0].imap.host", "missing required value"},
		{"imap plain on loopback is fine but move needs a folder", map[string]string{"mailboxes": imapBox("      host: 127.0.0.1\n      tls: none\n      username: b\n      password_env: PW\n      after: move\n")},
			"mailboxes[0].imap.move_to", "missing required value"},
		{"imap insecure allowed", map[string]string{"mailboxes": imapBox("      host: imap.desk.example\n      tls: none\n      allow_insecure: true\n      username: b\n      password_env: PW\n      poll_interval: 500ms\n")},
			"mailboxes[0].imap.poll_interval", "must be at least 1s"},
		{"xoauth2 needs one token source", map[string]string{"mailboxes": imapBox("      host: imap.desk.example\n      username: b\n      auth: xoauth2\n")},
			"mailboxes[0].imap.oauth_token_command", "exactly one of oauth_token_command and oauth_token_file"},
		{"imap unknown key", map[string]string{"mailboxes": imapBox("      host: imap.desk.example\n      username: b\n      password_env: PW\n      pasword_env: PW\n")},
			"mailboxes[0].imap.pasword_env", `did you mean "password_env"?`},
		{"bad listen address", map[string]string{"listen": "listen:\n  smtp: 2525\n"},
			"listen.smtp", "want host:port"},
		{"memory budget too small", map[string]string{"listen": "listen:\n  smtp: :2525\n  max_message_size: 25MiB\n  memory_budget: 50MiB\n"},
			"listen.memory_budget", "must be at least 5 × max_message_size (125MiB), the memory one mail of that size may take, got 50MiB"},
		{"bad size", map[string]string{"listen": "listen:\n  smtp: :2525\n  max_message_size: 25 megs\n"},
			"listen.max_message_size", `invalid size "25 megs"`},
		{"cert without key", map[string]string{"listen": "listen:\n  smtp: :2525\n  tls_cert: /etc/hostname\n"},
			"listen.tls_cert", "tls_cert and tls_key must be given together"},
		{"per-address cap above the cap", map[string]string{"listen": "listen:\n  smtp: :2525\n  max_sessions: 20\n  max_sessions_per_ip: 30\n"},
			"listen.max_sessions_per_ip", "must not be more than max_sessions (20), got 30"},
		{"session shorter than idle", map[string]string{"listen": "listen:\n  smtp: :2525\n  idle_timeout: 5m\n  session_timeout: 1m\n"},
			"listen.session_timeout", "must not be shorter than idle_timeout (5m0s), got 1m0s"},
		{"read_timeout and idle_timeout", map[string]string{"listen": "listen:\n  smtp: :2525\n  read_timeout: 30s\n  idle_timeout: 30s\n"},
			"listen.read_timeout", "is the older name of idle_timeout: give only idle_timeout"},
		{"postmaster names no mailbox", map[string]string{"listen": "listen:\n  smtp: :2525\n  postmaster: suport@desk.example\n"},
			"listen.postmaster", `suport@desk.example is the address of no mailbox (did you mean "support@desk.example"?)`},
		{"relay missing", map[string]string{"relay": ""},
			"relay.host", "missing required value"},
		{"relay credentials in clear", map[string]string{"relay": "relay:\n  host: smtp.desk.example\n  tls: none\n  auth: login\n  username: u\n  password_env: PW\n"},
			"relay.tls", "would send relay credentials in clear text"},
		{"relay username without auth", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  username: u\n"},
			"relay.username", "has no effect with auth: none"},
		{"relay missing password", map[string]string{"relay": "relay:\n  host: smtp.desk.example\n  auth: plain\n  username: u\n  password_env: RELAY_PW\n"},
			"relay.password_env", "missing secret: environment variable RELAY_PW is not set"},
		{"dkim key missing", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  dkim: {domain: desk.example, selector: s, private_key_file: keys/dkim.pem}\n"},
			"relay.dkim.private_key_file", "keys/dkim.pem does not exist"},
		{"retry factor below 1", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  retry: {factor: 0.5}\n"},
			"relay.retry.factor", "must be between 1 and 100, got 0.5"},
		{"retry factor not a number", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  retry: {factor: twice}\n"},
			"relay.retry.factor", `expected a number, got "twice"`},
		{"retry max delay below first", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  retry: {first: 10m, max_delay: 5m}\n"},
			"relay.retry.max_delay", "must be at least first (10m0s), got 5m0s"},
		{"retry max attempts 0", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  retry: {max_attempts: 0}\n"},
			"relay.retry.max_attempts", "must be between 1 and 1000, got 0"},
		{"retry unknown key", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  retry: {max_attempt: 3}\n"},
			"relay.retry.max_attempt", `unknown key "max_attempt" (did you mean "max_attempts"?)`},
		{"dkim key not a key", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  dkim: {domain: desk.example, selector: s, private_key_file: postdesk.yaml}\n"},
			"relay.dkim.private_key_file", "is not a PEM file"},
		{"relay ca_file missing", map[string]string{"relay": "relay:\n  host: smtp.desk.example\n  ca_file: certs/relay-ca.pem\n"},
			"relay.ca_file", "certs/relay-ca.pem does not exist"},
		{"relay ca_file not PEM", map[string]string{"relay": "relay:\n  host: smtp.desk.example\n  ca_file: postdesk.yaml\n"},
			"relay.ca_file", "holds no PEM certificate"},
		{"relay ca_file without TLS", map[string]string{"relay": "relay:\n  host: 127.0.0.1\n  tls: none\n  ca_file: postdesk.yaml\n"},
			"relay.ca_file", "has no effect with tls: none"},
		{"filter without action", map[string]string{"filters": "filters:\n  - name: f\n    match: {from: x}\n"},
			"filters[0]", "a filter needs an action"},
		{"filter without condition", map[string]string{"filters": "filters:\n  - name: f\n    match: {regexp: true}\n    reject: no\n"},
			"filters[0].match", "needs at least one of from, to, subject and body"},
		{"filter unknown help topic", map[string]string{"filters": "filters:\n  - name: f\n    match: {from: x}\n    set: {help_topic: VIP}\n"},
			"filters[0].set.help_topic", `unknown help topic "VIP" (none are defined)`},
		{"filter reject and quarantine", map[string]string{"filters": "filters:\n  - name: f\n    match: {from: x}\n    reject: a\n    quarantine: b\n"},
			"filters[0].quarantine", "exclude each other"},
		{"filter collaborator", map[string]string{"filters": "filters:\n  - name: f\n    match: {from: x}\n    set: {add_collaborator: \"Boss <b@x.example>\"}\n"},
			"filters[0].set.add_collaborator", "bare address only"},
		{"ban bad domain", map[string]string{"ban": "ban: [\"@spam..example\"]\n"},
			"ban[0]", `invalid domain "spam..example"`},
		{"ban duplicate", map[string]string{"ban": "ban: [a@x.example, A@X.example]\n"},
			"ban[1]", "is listed twice"},
		{"log level", map[string]string{"log": "log: {level: verbose}\n"},
			"log.level", "must be one of debug, info, warn, error"},
		{"trusted relay not an address", map[string]string{"agent_mail": "agent_mail:\n  authserv_id: mx.x.example\n  trusted_relays: [127.0.0.1, mx.x.example]\n"},
			"agent_mail.trusted_relays[1]", `"mx.x.example" is not an IP address or CIDR range`},
		{"trusted relay host bits", map[string]string{"agent_mail": "agent_mail:\n  authserv_id: mx.x.example\n  trusted_relays: [10.0.0.1/8]\n"},
			"agent_mail.trusted_relays[0]", "10.0.0.1/8 has host bits set: write 10.0.0.0/8"},
		{"trusted relays without authserv_id", map[string]string{"agent_mail": "agent_mail:\n  trusted_relays: [127.0.0.1]\n"},
			"agent_mail.trusted_relays", "without agent_mail.authserv_id"},
		{"machine_mail enum", map[string]string{"mailboxes": "mailboxes:\n  - name: support\n    address: support@desk.example\n    department: Help Desk\n    machine_mail: drop\n"},
			"mailboxes[0].machine_mail", "must be one of ticket, quarantine"},
		{"agent_mail enum", map[string]string{"agent_mail": "agent_mail: {unauthenticated: drop}\n"},
			"agent_mail.unauthenticated", "must be one of customer, quarantine"},
		{"section of wrong type", map[string]string{"listen": "listen: 127.0.0.1:2525\n"},
			"listen", `expected a mapping, got "127.0.0.1:2525"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEnv()
			e["PW"] = "pw"
			cfg, err := loadText(t, compose(tc.replace), e)
			ps := problems(t, cfg, err)
			for _, p := range ps {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					if len(ps) != 1 && !followOn[tc.name] {
						t.Errorf("want only this problem, got:\n%v", err)
					}
					if p.Line == 0 || p.Column == 0 {
						t.Errorf("problem has no position: %s", p)
					}
					return
				}
			}
			t.Errorf("want %s: ...%s..., got:\n%v", tc.path, tc.msg, err)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want an error wrapping fs.ErrNotExist, got %v", err)
	}
	var errs *Errors
	if errors.As(err, &errs) {
		t.Error("an unreadable file is an I/O error, not a list of problems")
	}
}
