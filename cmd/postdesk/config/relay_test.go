package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// caPEM returns a self-signed CA certificate and its key, PEM encoded.
func caPEM(t *testing.T) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Desk Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// TestRelayCAFile: relay.ca_file is relative to the configuration file,
// must hold PEM certificates only, and its problems point at the key.
func TestRelayCAFile(t *testing.T) {
	dir := t.TempDir()
	cert, key := caPEM(t)
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"certs/ca.pem":     cert,
		"certs/bundle.pem": append(append([]byte("# our two CAs\n"), cert...), cert...),
		"certs/key.pem":    key,
		"certs/both.pem":   append(append([]byte{}, cert...), key...),
		"certs/broken.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	load := func(relay string) (*Config, error) {
		t.Helper()
		path := filepath.Join(dir, "postdesk.yaml")
		if err := os.WriteFile(path, []byte(compose(map[string]string{"relay": relay})), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(path, env(baseEnv()))
	}

	for _, name := range []string{"certs/ca.pem", "certs/bundle.pem"} {
		cfg, err := load("relay:\n  host: smtp.desk.example\n  tls: implicit\n  ca_file: " + name + "\n")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r := cfg.Relay
		if r.CAFile != filepath.Join(dir, name) || r.TLS != RelayImplicit || r.Port != 465 {
			t.Errorf("%s: relay = %+v; want the absolute path, tls implicit, port 465", name, r)
		}
	}

	for _, tc := range []struct{ file, msg string }{
		{"certs/key.pem", `PEM block 1 is a "PRIVATE KEY", not a CERTIFICATE`},
		{"certs/both.pem", `PEM block 2 is a "PRIVATE KEY", not a CERTIFICATE`},
		{"certs/broken.pem", "certificate 1 cannot be parsed"},
		{"certs/none.pem", "certs/none.pem does not exist"},
	} {
		cfg, err := load("relay:\n  host: smtp.desk.example\n  ca_file: " + tc.file + "\n")
		ps := problems(t, cfg, err)
		if len(ps) != 1 {
			t.Fatalf("%s: want one problem, got:\n%v", tc.file, err)
		}
		want := fmt.Sprintf("%s:%d:12: relay.ca_file: ", filepath.Join(dir, "postdesk.yaml"), lineOf(t, dir, "ca_file:"))
		if got := ps[0].String(); !strings.HasPrefix(got, want) || !strings.Contains(got, tc.msg) {
			t.Errorf("%s: problem %q; want %q...%q", tc.file, got, want, tc.msg)
		}
		if strings.Contains(ps[0].Message, "BEGIN PRIVATE") || strings.Contains(ps[0].Message, string(key[28:60])) {
			t.Errorf("%s: the problem quotes the key: %s", tc.file, ps[0].Message)
		}
	}
}

// lineOf returns the 1-based line of postdesk.yaml in dir holding s.
func lineOf(t *testing.T, dir, s string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "postdesk.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line holds %q", s)
	return 0
}

// Port 465 is TLS from the first byte whatever tls says, so credentials
// there are not sent in clear text; on another port with tls: none they are.
func TestRelayPort465IsNotClearText(t *testing.T) {
	dir := t.TempDir()
	load := func(relay string) error {
		t.Helper()
		path := filepath.Join(dir, "postdesk.yaml")
		if err := os.WriteFile(path, []byte(compose(map[string]string{"relay": relay})), 0o600); err != nil {
			t.Fatal(err)
		}
		e := baseEnv()
		e["PW"] = "relay-password"
		_, err := Load(path, env(e))
		return err
	}
	const creds = "  tls: none\n  auth: login\n  username: u\n  password_env: PW\n"
	if err := load("relay:\n  host: smtp.desk.example\n  port: 465\n" + creds); err != nil {
		t.Errorf("port 465 with tls: none: %v", err)
	}
	err := load("relay:\n  host: smtp.desk.example\n  port: 587\n" + creds)
	if err == nil || !strings.Contains(err.Error(), "would send relay credentials in clear text") {
		t.Errorf("port 587 with tls: none: %v, want the clear-text problem", err)
	}
}

// TestRelayRetry: the retry schedule is read as given; a first wait longer
// than the default longest one raises the longest to it.
func TestRelayRetry(t *testing.T) {
	for _, tc := range []struct {
		retry string
		want  RelayRetry
	}{
		{"  retry:\n    first: 30s\n    factor: 1.5\n    max_delay: 2h\n    max_attempts: 8\n",
			RelayRetry{First: 30 * time.Second, Factor: 1.5, MaxDelay: 2 * time.Hour, MaxAttempts: 8}},
		{"  retry: {first: 5m, factor: 1}\n", RelayRetry{First: 5 * time.Minute, Factor: 1, MaxDelay: time.Hour, MaxAttempts: 25}},
		{"  retry: {first: 3h}\n", RelayRetry{First: 3 * time.Hour, Factor: 2, MaxDelay: 3 * time.Hour, MaxAttempts: 25}},
	} {
		cfg := mustLoad(t, compose(map[string]string{"relay": "relay:\n  host: 127.0.0.1\n" + tc.retry}), baseEnv())
		if cfg.Relay.Retry != tc.want {
			t.Errorf("%s: retry = %+v, want %+v", tc.retry, cfg.Relay.Retry, tc.want)
		}
	}
}
