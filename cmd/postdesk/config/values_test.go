package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""},
		{"1048576", 1 << 20, ""},
		{"25MiB", 25 << 20, ""},
		{"25 MiB", 25 << 20, ""},
		{"25mib", 25 << 20, ""},
		{"512KiB", 512 << 10, ""},
		{"2GiB", 2 << 30, ""},
		{"10MB", 10_000_000, ""},
		{"10 kb", 10_000, ""},
		{"3GB", 3_000_000_000, ""},
		{"100B", 100, ""},
		{" 7 KB ", 7000, ""},
		{"", 0, "invalid size"},
		{"MiB", 0, "invalid size"},
		{"-5MiB", 0, "invalid size"},
		{"1.5MiB", 0, "unknown unit"},
		{"25 megs", 0, "unknown unit"},
		{"25MiBs", 0, "unknown unit"},
		{"99999999999999999999", 0, "too large"},
		{"9999999999GiB", 0, "too large"},
	} {
		got, err := ParseSize(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseSize(%q) = %d, %v; want error containing %q", tc.in, got, err, tc.err)
		}
	}
}

func TestMailboxByAddress(t *testing.T) {
	cfg := &Config{Mailboxes: []Mailbox{
		{Name: "support", Address: "support@bank.example"},
		{Name: "outage", Address: "Outage@Bank.Example"},
		{Name: "vip", Address: "support+vip@bank.example"},
	}}
	for _, tc := range []struct{ addr, want string }{
		{"support@bank.example", "support"},
		{"SUPPORT@BANK.EXAMPLE", "support"},
		{"<support@bank.example>", "support"},
		{"support+1234@bank.example", "support"},
		{"support+r-x9Fq.2@bank.example", "support"},
		{"outage@bank.example", "outage"},
		{"outage+tag@BANK.example", "outage"},
		{"support+vip@bank.example", "vip"},   // the exact address beats the tag rule
		{"support+vip+7@bank.example", "vip"}, // a tag on a tagged mailbox
		{"support+other+7@bank.example", "support"},
		{"support@other.example", ""}, // same local part, other domain
		{"supportx@bank.example", ""},
		{"+support@bank.example", ""},
		{"sup+port@bank.example", ""},
		{"support", ""},
		{"", ""},
	} {
		got := ""
		if m := cfg.MailboxByAddress(tc.addr); m != nil {
			got = m.Name
		}
		if got != tc.want {
			t.Errorf("MailboxByAddress(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestLookups(t *testing.T) {
	cfg := &Config{
		Departments: []Department{{Name: "Help Desk"}, {Name: "System Administrators"}},
		Agents:      []Agent{{Name: "Ken Jay", Email: "ken.jay@bank.example", Username: "ken"}},
		HelpTopics:  []HelpTopic{{Name: "Business critical outage"}},
		Mailboxes:   []Mailbox{{Name: "support"}},
	}
	if d := cfg.Department("system administrators"); d == nil || d.Name != "System Administrators" {
		t.Errorf("Department = %+v", d)
	}
	if cfg.Department("Help") != nil {
		t.Error("Department matched a prefix")
	}
	for _, q := range []string{"ken", "KEN", "Ken.Jay@Bank.Example"} {
		if a := cfg.Agent(q); a == nil || a.Name != "Ken Jay" {
			t.Errorf("Agent(%q) = %+v", q, a)
		}
	}
	if cfg.Agent("ken.jay") != nil || cfg.Agent("") != nil {
		t.Error("Agent matched neither an email nor a username")
	}
	if cfg.HelpTopic("BUSINESS CRITICAL OUTAGE") == nil || cfg.Mailbox("Support") == nil || cfg.Mailbox("outage") != nil {
		t.Error("HelpTopic/Mailbox lookup")
	}
}

func TestFilterMatches(t *testing.T) {
	type msg struct {
		from    string
		to      []string
		subject string
		body    string
	}
	vip := Filter{Match: FilterMatch{From: "@BigCorp.example"}}
	both := Filter{Match: FilterMatch{To: "billing@", Subject: "invoice"}}
	re := Filter{Match: FilterMatch{Subject: `^invoice \d+ overdue$`, Body: "(?i)wire transfer", Regexp: true}}
	for _, tc := range []struct {
		name string
		f    Filter
		m    msg
		want bool
	}{
		{"domain substring ignores case", vip, msg{from: "ceo@bigcorp.EXAMPLE"}, true},
		{"other domain", vip, msg{from: "ceo@smallcorp.example"}, false},
		{"all conditions met", both, msg{to: []string{"a@x", "Billing@bank.example"}, subject: "Your INVOICE"}, true},
		{"one condition missing", both, msg{to: []string{"billing@bank.example"}, subject: "hello"}, false},
		{"no recipients", both, msg{subject: "invoice"}, false},
		{"regexp match", re, msg{subject: "invoice 42 overdue", body: "Please send a Wire Transfer"}, true},
		{"regexp is anchored as written", re, msg{subject: "Re: invoice 42 overdue", body: "wire transfer"}, false},
		{"bad regexp built by hand matches nothing", Filter{Match: FilterMatch{Subject: "[", Regexp: true}}, msg{subject: "["}, false},
	} {
		if got := tc.f.Matches(tc.m.from, tc.m.to, tc.m.subject, tc.m.body); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"name", "address", "display_name", "department", "help_topic", "priority", "machine_mail", "imap"}
	for _, tc := range []struct{ in, want string }{
		{"adress", "address"},
		{"Address", "address"},
		{"departement", "department"},
		{"help-topic", "help_topic"},
		{"prority", "priority"},
		{"nmae", "name"},
		{"imap4", "imap"},
		{"colour", ""},
		{"x", ""},
		{strings.Repeat("a", 200), ""},
	} {
		if got := suggest(tc.in, keys); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{"c.yaml", 3, 7, "relay.port", "bad"}, "c.yaml:3:7: relay.port: bad"},
		{Problem{"c.yaml", 3, 0, "", "YAML syntax error: x"}, "c.yaml:3: YAML syntax error: x"},
		{Problem{"c.yaml", 0, 0, "", "the file is empty"}, "c.yaml: the file is empty"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestCheckPrivateKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, err string
	}{
		{write("rsa1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), ""},
		{write("rsa8.pem", "PRIVATE KEY", pkcs8), ""},
		{write("ec.pem", "PRIVATE KEY", ecDER), "DKIM needs RSA or Ed25519"},
		{write("junk.pem", "PRIVATE KEY", []byte("junk")), "holds no RSA or Ed25519 private key"},
	} {
		err := checkPrivateKey(tc.path)
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("checkPrivateKey(%s) = %v, want %q", filepath.Base(tc.path), err, tc.err)
		}
	}
}
