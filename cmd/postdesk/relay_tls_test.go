package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// startTLSRelay starts an SMTP server offering STARTTLS with a certificate
// for 127.0.0.1 signed by a fresh CA, and returns its port and the CA
// certificate in PEM.
func startTLSRelay(t *testing.T) (port string, caPEM []byte) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bank Test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2),
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature},
		ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(refuseAll{})
	srv.Domain = "relay.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// refuseAll is a relay backend for checks that send nothing.
type refuseAll struct{}

func (refuseAll) NewSession(*smtp.Conn) (smtp.Session, error) { return refuseAll{}, nil }
func (refuseAll) Mail(string, *smtp.MailOptions) error        { return errors.New("no mail expected") }
func (refuseAll) Rcpt(string, *smtp.RcptOptions) error        { return errors.New("no mail expected") }
func (refuseAll) Data(io.Reader) error                        { return errors.New("no mail expected") }
func (refuseAll) Reset()                                      {}
func (refuseAll) Logout() error                               { return nil }

// TestMailboxTestRelayCAFile: 'mailbox test --relay' trusts relay.ca_file,
// given relative to the configuration file, as serve does.
func TestMailboxTestRelayCAFile(t *testing.T) {
	port, caPEM := startTLSRelay(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "relay-ca.pem"), caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	tlsLine := regexp.MustCompile(`(?m)^  tls: none .*$`)
	if len(tlsLine.FindAll(example, -1)) != 1 {
		t.Fatalf("%s: want exactly one relay tls line", exampleConfig)
	}
	write := func(name, relayTLS string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, tlsLine.ReplaceAll(example, []byte(relayTLS)), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	trusted := write("trusted.yaml", "  tls: mandatory\n  ca_file: relay-ca.pem")
	untrusted := write("untrusted.yaml", "  tls: mandatory")
	env := exampleEnv("")
	env["POSTDESK_RELAY_PORT"] = port

	code, out, errs := runCLI(t, env, "mailbox", "test", "--relay", "--config", trusted)
	if code != 0 || !strings.Contains(out, "STARTTLS worked") ||
		!strings.Contains(out, "relay.ca_file "+filepath.Join(dir, "relay-ca.pem")) || !strings.Contains(out, "Result: works.") {
		t.Fatalf("with ca_file: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, env, "mailbox", "test", "--relay", "--config", untrusted)
	if code != 1 || !strings.Contains(out, "FAILED   tls") || !strings.Contains(out, "name it in relay.ca_file") {
		t.Fatalf("without ca_file: exit %d\n%s%s", code, out, errs)
	}

	// A missing CA file is a problem of the file, at its line.
	missing := write("missing.yaml", "  tls: mandatory\n  ca_file: certs/none.pem")
	code, _, errs = runCLI(t, env, "config", "check", missing)
	if code != 1 || !regexp.MustCompile(`missing\.yaml:\d+:12: relay\.ca_file: \S+/certs/none\.pem does not exist`).MatchString(errs) {
		t.Fatalf("config check, missing ca_file: exit %d\n%s", code, errs)
	}
}
