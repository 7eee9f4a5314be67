package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Results of a CheckStep.
const (
	CheckOK      = "ok"
	CheckWarning = "warning" // works, but not as well as it could
	CheckFailed  = "failed"
	CheckSkipped = "skipped" // not tried: an earlier step failed, or it does not apply
)

// CheckStep is one thing the relay check tried, in plain words.
type CheckStep struct {
	Name   string // settings, resolve, connect, token, tls, auth
	Result string // CheckOK, CheckWarning, CheckFailed or CheckSkipped
	Detail string
}

// RelayReport is the outcome of CheckRelay.
type RelayReport struct {
	Relay string // host:port
	Steps []CheckStep
	// Extensions the relay announced in its last EHLO answer, sorted.
	Extensions []string
}

// OK reports whether every step worked (warnings included).
func (r RelayReport) OK() bool {
	for _, s := range r.Steps {
		if s.Result == CheckFailed {
			return false
		}
	}
	return len(r.Steps) > 0
}

func (r *RelayReport) add(name, result, format string, args ...any) {
	r.Steps = append(r.Steps, CheckStep{Name: name, Result: result, Detail: fmt.Sprintf(format, args...)})
}

func (r *RelayReport) skipRest(names ...string) {
	for _, n := range names {
		r.add(n, CheckSkipped, "not tried")
	}
}

// CheckRelay connects to the relay the way the delivery worker does (the
// same go-mail dialling, TLS policy and authentication) and reports what
// works and what does not: name resolution, connection, EHLO and STARTTLS,
// the XOAUTH2 token, and AUTH. It sends no mail. The password and the token
// never appear in the report.
func CheckRelay(ctx context.Context, cfg Relay) RelayReport {
	r := newRelay(cfg)
	rep := RelayReport{Relay: r.addr()}
	all := []string{"resolve", "connect", "tls", "auth"}
	if err := (Options{Relay: cfg}).checkRelay(); err != nil {
		rep.add("settings", CheckFailed, "%s", strings.ReplaceAll(err.Error(), "mailer: ", ""))
		rep.skipRest(all...)
		return rep
	}
	cfg = r.cfg
	if !relayResolve(ctx, &rep, cfg.Host) {
		rep.skipRest(all[1:]...)
		return rep
	}
	if !relayConnect(ctx, &rep, cfg) {
		rep.skipRest(all[2:]...)
		return rep
	}

	// EHLO and TLS first without AUTH, so that a refused login is told
	// apart from a failed handshake.
	plain := cfg
	plain.Auth, plain.Username, plain.Password, plain.TokenCommand = "none", "", "", ""
	sess, err := newRelay(plain).dial(ctx)
	if err != nil {
		rep.add("tls", CheckFailed, "%s", explainRelayTLS(err, cfg))
		rep.skipRest("auth")
		return rep
	}
	tlsStep(&rep, sess, r)
	rep.Extensions = extensions(sess)
	authOffered, mechs := sess.c.Extension("AUTH")
	sess.close()

	if cfg.Auth == "" || cfg.Auth == "none" {
		rep.add("auth", CheckSkipped, "not used (auth: none): the relay must accept mail from this host without a login")
		return rep
	}
	if !authOffered {
		rep.add("auth", CheckFailed, "the relay offers no AUTH on this connection (auth: %s is configured)%s", cfg.Auth,
			tlsHint(cfg))
		return rep
	}
	want := strings.ToUpper(cfg.Auth)
	if !slices.Contains(strings.Fields(strings.ToUpper(mechs)), want) {
		rep.add("auth", CheckFailed, "the relay does not offer AUTH %s; it offers %s", want, mechs)
		return rep
	}
	if cfg.Auth == "xoauth2" {
		if _, err := r.accessToken(ctx); err != nil {
			rep.add("token", CheckFailed, "%s", strings.TrimPrefix(err.Error(), "mailer: "))
			rep.add("auth", CheckSkipped, "not tried without a token")
			return rep
		}
		rep.add("token", CheckOK, "the token command printed a token")
	}
	sess, err = r.dial(ctx)
	if err != nil {
		rep.add("auth", CheckFailed, "%s", explainRelayAuth(err, cfg))
		return rep
	}
	rep.Extensions = extensions(sess)
	sess.close()
	rep.add("auth", CheckOK, "logged in as %s (AUTH %s)", cfg.Username, want)
	return rep
}

func relayResolve(ctx context.Context, rep *RelayReport, host string) bool {
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		rep.add("resolve", CheckSkipped, "%s is an IP address", host)
		return true
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			rep.add("resolve", CheckFailed, "the name %s does not exist in DNS: check relay.host", host)
		} else {
			rep.add("resolve", CheckFailed, "cannot resolve %s: %v", host, err)
		}
		return false
	}
	rep.add("resolve", CheckOK, "%s is %s", host, strings.Join(addrs, ", "))
	return true
}

func relayConnect(ctx context.Context, rep *RelayReport, cfg Relay) bool {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var netErr net.Error
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			rep.add("connect", CheckFailed, "nothing accepts connections at %s (connection refused): wrong port, or the relay is down", addr)
		case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
			rep.add("connect", CheckFailed, "no answer from %s within %s: a firewall may be dropping the traffic (many providers block port 25)",
				addr, cfg.Timeout)
		default:
			rep.add("connect", CheckFailed, "cannot connect to %s: %v", addr, err)
		}
		return false
	}
	_ = conn.Close()
	rep.add("connect", CheckOK, "%s accepts connections", addr)
	return true
}

func tlsStep(rep *RelayReport, sess *session, r *relay) {
	cfg := r.cfg
	state, encrypted := sess.c.TLSConnectionState()
	starttls, _ := sess.c.Extension("STARTTLS")
	trusted := "certificate trusted"
	if cfg.CAFile != "" {
		trusted = "certificate trusted (system CAs and relay.ca_file " + cfg.CAFile + ")"
	}
	switch {
	case encrypted && r.implicitTLS():
		rep.add("tls", CheckOK, "TLS from the first byte (port %d), %s, %s", cfg.Port, tls.VersionName(state.Version), trusted)
	case encrypted:
		rep.add("tls", CheckOK, "STARTTLS worked, %s, %s", tls.VersionName(state.Version), trusted)
	case cfg.TLS == "none" && starttls:
		rep.add("tls", CheckWarning, "not used (tls: none), though the relay offers STARTTLS: consider tls: mandatory")
	case cfg.TLS == "none":
		rep.add("tls", CheckSkipped, "not used (tls: none): notices travel in clear text")
	default: // opportunistic, not offered
		rep.add("tls", CheckWarning, "the relay does not offer STARTTLS: notices travel in clear text (tls: opportunistic)")
	}
}

func extensions(sess *session) []string {
	var out []string
	for _, ext := range []string{"STARTTLS", "AUTH", "PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "DSN", "CHUNKING"} {
		if ok, param := sess.c.Extension(ext); ok {
			if param != "" {
				ext += " " + param
			}
			out = append(out, ext)
		}
	}
	return out
}

func explainRelayTLS(err error, cfg Relay) string {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var tp *textproto.Error
	msg := strings.TrimPrefix(err.Error(), "mailer: ")
	switch {
	case strings.Contains(msg, "does not support STARTTLS"):
		return "the relay does not offer STARTTLS, and relay.tls is mandatory: use the relay's submission port (587), " +
			"or tls: opportunistic / none for a relay on a trusted network"
	case errors.As(err, &unknownAuth) && cfg.CAFile != "":
		return fmt.Sprintf("the relay's certificate is signed by an authority trusted neither by this machine nor by relay.ca_file %s",
			cfg.CAFile)
	case errors.As(err, &unknownAuth):
		return "the relay's certificate is signed by an authority this machine does not trust (self-signed, or a private CA?): " +
			"put that CA's certificate in a PEM file and name it in relay.ca_file"
	case errors.As(err, &hostErr):
		return fmt.Sprintf("the relay's certificate is not valid for the name %s: %v", cfg.Host, hostErr)
	case errors.As(err, &recErr):
		return "the relay does not speak TLS on this port: port 465 (and tls: implicit) is TLS from the first byte, 587 and 25 use STARTTLS"
	case errors.As(err, &tp):
		return fmt.Sprintf("the relay answered %d %s", tp.Code, tp.Msg)
	}
	return "EHLO or STARTTLS failed: " + msg
}

func explainRelayAuth(err error, cfg Relay) string {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		switch {
		case tp.Code == 535 || tp.Code == 534:
			return fmt.Sprintf("the relay refused user %s with the configured credentials: %d %s", cfg.Username, tp.Code, tp.Msg)
		case tp.Code == 538 || tp.Code == 530:
			return fmt.Sprintf("the relay wants encryption before AUTH: %d %s%s", tp.Code, tp.Msg, tlsHint(cfg))
		}
		return fmt.Sprintf("AUTH failed: %d %s", tp.Code, tp.Msg)
	}
	msg := strings.TrimPrefix(err.Error(), "mailer: ")
	if strings.Contains(strings.ToLower(msg), "unencrypted") {
		return "the login would go in clear text, which postdesk refuses" + tlsHint(cfg)
	}
	return "AUTH failed: " + msg
}

func tlsHint(cfg Relay) string {
	if cfg.TLS == "none" {
		return "; set relay.tls to mandatory"
	}
	return ""
}
