package config

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"
)

var (
	relayKeys = []string{"host", "port", "tls", "ca_file", "auth", "username", "password_env",
		"oauth_token_command", "helo", "timeout", "dkim", "auto_reply_limit", "retry"}
	dkimKeys  = []string{"domain", "selector", "private_key_file"}
	retryKeys = []string{"first", "factor", "max_delay", "max_attempts"}
)

func (d *decoder) relay(o *object) Relay {
	r := Relay{
		Host:           o.required("host"),
		TLS:            enum(o, "tls", RelayMandatory, RelayMandatory, RelayOpportunistic, RelayImplicit, RelayNoTLS),
		CAFile:         o.file("ca_file", false),
		Auth:           enum(o, "auth", RelayAuthNone, RelayAuthNone, RelayAuthPlain, RelayAuthLogin, RelayAuthXOAUTH2),
		HELO:           o.str("helo"),
		Timeout:        o.duration("timeout", 30*time.Second, time.Second),
		AutoReplyLimit: o.integer("auto_reply_limit", 10, 1, 10000),
	}
	defPort := 587
	if r.TLS == RelayImplicit {
		defPort = 465
	}
	r.Port = o.integer("port", defPort, 1, 65535)
	o.host("host", r.Host)
	if r.CAFile != "" {
		if r.TLS == RelayNoTLS && r.Port != 465 {
			o.errf("ca_file", "has no effect with tls: none; set tls or remove it")
		} else if err := checkCAFile(r.CAFile); err != nil {
			o.errf("ca_file", "%v", err)
		}
	}
	if r.HELO != "" {
		if err := checkDomain(r.HELO); err != nil {
			o.errf("helo", "%v", err)
		}
	}
	switch r.Auth {
	case RelayAuthNone:
		for _, k := range []string{"username", "password_env", "oauth_token_command"} {
			if o.str(k) != "" {
				o.errf(k, "has no effect with auth: none; set auth or remove it")
			}
		}
	case RelayAuthPlain, RelayAuthLogin:
		r.Username = o.required("username")
		r.PasswordEnv, r.Password = o.secret("password_env", true)
		if o.str("oauth_token_command") != "" {
			o.errf("oauth_token_command", "is only used with auth: xoauth2")
		}
	case RelayAuthXOAUTH2:
		r.Username = o.required("username")
		r.OAuthTokenCommand = o.required("oauth_token_command")
		if o.str("password_env") != "" {
			o.errf("password_env", "is not used with auth: xoauth2")
		}
	}
	// Port 465 is TLS from the first byte whatever tls says (SMTPS).
	if r.TLS == RelayNoTLS && r.Port != 465 && r.Auth != RelayAuthNone && r.Host != "" && !isLoopback(r.Host) {
		o.errf("tls", "tls: none would send relay credentials in clear text to %s; use mandatory or opportunistic", r.Host)
	}
	if o.has("dkim") {
		r.DKIM = d.dkim(o.child("dkim", dkimKeys))
	}
	r.Retry = retry(o.child("retry", retryKeys))
	return r
}

// Retry defaults: 1m, 2m, 4m … 1h, 1h …; the 25th failed attempt, about
// 19 hours after the first, gives up.
const (
	DefaultRetryFirst       = time.Minute
	DefaultRetryFactor      = 2.0
	DefaultRetryMaxDelay    = time.Hour
	DefaultRetryMaxAttempts = 25
)

func retry(o *object) RelayRetry {
	r := RelayRetry{
		First:       o.duration("first", DefaultRetryFirst, time.Second),
		Factor:      o.number("factor", DefaultRetryFactor, 1, 100),
		MaxAttempts: o.integer("max_attempts", DefaultRetryMaxAttempts, 1, 1000),
	}
	r.MaxDelay = o.duration("max_delay", max(DefaultRetryMaxDelay, r.First), time.Second)
	if o.has("max_delay") && r.MaxDelay < r.First {
		o.errf("max_delay", "must be at least first (%s), got %s", r.First, r.MaxDelay)
	}
	return r
}

var dkimSelector = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

func (d *decoder) dkim(o *object) *DKIM {
	k := &DKIM{
		Domain:         o.required("domain"),
		Selector:       o.required("selector"),
		PrivateKeyFile: o.file("private_key_file", false),
	}
	if k.Domain != "" {
		if err := checkDomain(k.Domain); err != nil {
			o.errf("domain", "%v", err)
		}
	}
	if k.Selector != "" && !dkimSelector.MatchString(k.Selector) {
		o.errf("selector", "invalid DKIM selector %q", k.Selector)
	}
	if !o.has("private_key_file") {
		o.errf("private_key_file", "missing required value")
	} else if k.PrivateKeyFile != "" {
		if err := checkPrivateKey(k.PrivateKeyFile); err != nil {
			o.errf("private_key_file", "%v", err)
		}
	}
	return k
}

// checkPrivateKey accepts a PEM file holding an RSA (PKCS#1 or PKCS#8) or
// Ed25519 (PKCS#8) private key. Its errors never quote key material.
func checkPrivateKey(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // reported by the existence check
		}
		return fmt.Errorf("cannot read DKIM key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("%s is not a PEM file", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return checkRSASize(k)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s holds no RSA or Ed25519 private key (PEM block %q)", path, block.Type)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return checkRSASize(k)
	case ed25519.PrivateKey:
		return nil
	default:
		return fmt.Errorf("%s holds a %T key; DKIM needs RSA or Ed25519", path, k)
	}
}

// checkCAFile accepts a PEM file of one or more certificates and nothing
// else, as the mailer reads relay.ca_file. Its errors never quote the
// file's content: a wrong file may hold a private key.
func checkCAFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // reported by the existence check
		}
		return fmt.Errorf("cannot read CA file: %w", err)
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("%s: PEM block %d is a %q, not a CERTIFICATE: give the CA's certificate", path, n, block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("%s: certificate %d cannot be parsed: %v", path, n, err)
		}
	}
	if n == 0 {
		return fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return nil
}

// checkRSASize refuses keys that receivers reject (RFC 8301: at least 1024
// bits).
func checkRSASize(k *rsa.PrivateKey) error {
	if bits := k.N.BitLen(); bits < 1024 {
		return fmt.Errorf("RSA key has %d bits; DKIM needs at least 1024 (2048 recommended)", bits)
	}
	return nil
}
