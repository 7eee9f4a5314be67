package poller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Results of a CheckStep.
const (
	CheckOK      = "ok"
	CheckWarning = "warning" // works, but not as well as it could
	CheckFailed  = "failed"
	CheckSkipped = "skipped" // not tried: an earlier step failed, or it does not apply
)

// CheckStep is one thing a connectivity check tried, in plain words.
type CheckStep struct {
	Name   string // resolve, connect, tls, capabilities, login, folder, move_to
	Result string // CheckOK, CheckWarning, CheckFailed or CheckSkipped
	Detail string
}

// Report is the outcome of Check.
type Report struct {
	Mailbox string
	Steps   []CheckStep
	// Capabilities the server announced after login, sorted.
	Capabilities []string
	// What the folder holds; set when the folder step succeeded.
	Messages, Unseen uint32
	UIDValidity      uint32
}

// OK reports whether every step worked (warnings included).
func (r Report) OK() bool {
	for _, s := range r.Steps {
		if s.Result == CheckFailed {
			return false
		}
	}
	return len(r.Steps) > 0
}

func (r *Report) add(name, result, format string, args ...any) {
	r.Steps = append(r.Steps, CheckStep{Name: name, Result: result, Detail: fmt.Sprintf(format, args...)})
}

// skipRest marks the steps after a failure as not tried.
func (r *Report) skipRest(names ...string) {
	for _, n := range names {
		r.add(n, CheckSkipped, "not tried")
	}
}

// checkTimeout bounds a whole check when ctx has no deadline of its own.
const checkTimeout = time.Minute

// Check logs in to box's IMAP server the way the poller does (the same
// dialling, TLS and login code) and reports what works and what does not:
// name resolution, connection, TLS, capabilities, login, the folder and its
// UIDVALIDITY. It reads nothing and changes nothing on the server: the folder
// is examined read-only and the folder for processed mail is only looked for.
// The password never appears in the report.
func Check(ctx context.Context, box Mailbox) Report {
	rep := Report{Mailbox: box.Name}
	all := []string{"resolve", "connect", "tls", "capabilities", "login", "folder"}
	box, err := normalize(box)
	if err != nil {
		rep.add("settings", CheckFailed, "%s", strings.TrimPrefix(err.Error(), "poller: "))
		rep.skipRest(all...)
		return rep
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, checkTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(box.Host, strconv.Itoa(box.Port))

	if !checkResolve(ctx, &rep, box.Host) {
		rep.skipRest(all[1:]...)
		return rep
	}
	if !checkConnect(ctx, &rep, addr) {
		rep.skipRest(all[2:]...)
		return rep
	}

	// The poller's own session code from here on; a one-mailbox Poller
	// gives it somewhere to count token failures.
	p := &Poller{boxes: []Mailbox{box}, status: []MailboxStatus{{Name: box.Name}}, t: defaultTiming(),
		log: slog.New(slog.DiscardHandler)}
	s := &session{p: p, box: box, log: p.log, newMail: make(chan struct{}, 1)}
	c, err := s.dial(ctx)
	if err != nil {
		rep.add("tls", CheckFailed, "%s", explainDial(err, box, addr))
		rep.skipRest(all[3:]...)
		return rep
	}
	s.c = c
	// Commands have no context: closing the connection ends a hung one.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	defer s.logout()
	switch box.TLS {
	case TLSNone:
		rep.add("tls", CheckSkipped, "not used (tls: none): the password travels in clear text, acceptable on loopback only")
	case TLSStartTLS:
		rep.add("tls", CheckOK, "STARTTLS worked and the certificate of %s is trusted", box.Host)
	default:
		rep.add("tls", CheckOK, "TLS from the first byte worked and the certificate of %s is trusted", box.Host)
	}

	if pre := c.Caps(); box.Auth == AuthXOAUTH2 && !hasAuth(pre, "XOAUTH2") {
		rep.add("capabilities", CheckFailed, "the server does not offer AUTH=XOAUTH2 (it offers AUTH=%s): "+
			"use auth: login, or a server that supports OAuth", orNone(pre.AuthMechanisms()))
		rep.skipRest("login", "folder")
		return rep
	}
	if err := s.login(ctx); err != nil {
		rep.add("login", CheckFailed, "%s", explainLogin(err, box))
		rep.skipRest("folder")
		return rep
	}
	rep.add("login", CheckOK, "logged in as %s (%s)", box.Username, strings.ToUpper(box.Auth))
	// Servers often announce more once logged in.
	caps := c.Caps()
	rep.Capabilities = capNames(caps)
	checkCaps(&rep, box, caps)

	checkFolder(&rep, s, box)
	return rep
}

func checkResolve(ctx context.Context, rep *Report, host string) bool {
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		rep.add("resolve", CheckSkipped, "%s is an IP address", host)
		return true
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			rep.add("resolve", CheckFailed, "the name %s does not exist in DNS: check the host setting", host)
		} else {
			rep.add("resolve", CheckFailed, "cannot resolve %s: %v", host, err)
		}
		return false
	}
	rep.add("resolve", CheckOK, "%s is %s", host, strings.Join(addrs, ", "))
	return true
}

// checkConnect opens and closes a TCP connection, so that a failure to
// connect is told apart from one in TLS or the greeting.
func checkConnect(ctx context.Context, rep *Report, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		rep.add("connect", CheckFailed, "%s", explainConnect(err, addr))
		return false
	}
	_ = conn.Close()
	rep.add("connect", CheckOK, "%s accepts connections", addr)
	return true
}

func explainConnect(err error, addr string) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing accepts connections at " + addr + " (connection refused): wrong port, or the server is down"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to " + addr + ": the network or a firewall is in the way"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "no answer from " + addr + " in time: a firewall may be dropping the traffic"
	}
	return fmt.Sprintf("cannot connect to %s: %v", addr, err)
}

// explainDial words a failure after the TCP connection was made: TLS, or
// the server's greeting.
func explainDial(err error, box Mailbox, addr string) string {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &unknownAuth):
		return "the server's certificate is signed by an authority this machine does not trust (self-signed?): " +
			"install the CA certificate on this machine"
	case errors.As(err, &hostErr):
		return fmt.Sprintf("the server's certificate is not valid for the name %s: %v; use the name the certificate was issued for",
			box.Host, hostErr)
	case errors.As(err, &invalid):
		return "the server's certificate is not valid: " + invalid.Error()
	case errors.As(err, &recErr):
		return fmt.Sprintf("%s does not speak TLS on this port (tls: %s): try tls: starttls with port 143, or tls: implicit with port 993",
			addr, box.TLS)
	case errors.Is(err, io.EOF) || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("%s closed the connection or sent no IMAP greeting: is this an IMAP port?", addr)
	}
	return strings.TrimPrefix(err.Error(), "poller: ")
}

func explainLogin(err error, box Mailbox) string {
	var ierr *imap.Error
	if errors.As(err, &ierr) {
		text := strings.TrimSpace(ierr.Text)
		if ierr.Code == imap.ResponseCodeAuthenticationFailed || ierr.Type == imap.StatusResponseTypeNo {
			if box.Auth == AuthXOAUTH2 {
				return fmt.Sprintf("the server refused the XOAUTH2 token for %s: %s (expired token, or the account lacks IMAP access)",
					box.Username, text)
			}
			return fmt.Sprintf("the server refused user %s with the configured password: %s", box.Username, text)
		}
		return fmt.Sprintf("login as %s failed: %s", box.Username, text)
	}
	return strings.TrimPrefix(err.Error(), "poller: ")
}

// checkCaps says which of the extensions the poller uses are there, and
// what their absence costs. None of them is required.
func checkCaps(rep *Report, box Mailbox, caps imap.CapSet) {
	var missing []string
	if box.IDLE && !caps.Has(imap.CapIdle) {
		missing = append(missing, fmt.Sprintf("no IDLE: new mail is seen only every %s (poll_interval)", box.PollInterval))
	}
	if box.After == AfterMove && !caps.Has(imap.CapMove) {
		if caps.Has(imap.CapUIDPlus) {
			missing = append(missing, "no MOVE: processed mail is copied to "+box.MoveTo+" and expunged (UIDPLUS)")
		} else {
			missing = append(missing, "neither MOVE nor UIDPLUS: processed mail is copied to "+box.MoveTo+
				" and left flagged \\Deleted in "+box.Folder+" for the server or a mail client to expunge")
		}
	}
	var have []string
	for _, c := range []imap.Cap{imap.CapIMAP4rev2, imap.CapIdle, imap.CapMove, imap.CapUIDPlus} {
		if caps.Has(c) {
			have = append(have, string(c))
		}
	}
	if hasAuth(caps, "XOAUTH2") {
		have = append(have, "AUTH=XOAUTH2")
	}
	detail := "offers " + orNone(have)
	if len(missing) > 0 {
		rep.add("capabilities", CheckWarning, "%s; %s", detail, strings.Join(missing, "; "))
		return
	}
	rep.add("capabilities", CheckOK, "%s", detail)
}

// checkFolder examines the folder read-only and looks for the folder
// processed mail is moved to.
func checkFolder(rep *Report, s *session, box Mailbox) {
	c := s.c
	st, err := c.Status(box.Folder, &imap.StatusOptions{NumMessages: true, NumUnseen: true, UIDValidity: true}).Wait()
	if err != nil {
		rep.add("folder", CheckFailed, "%s", missingFolder(s, box.Folder, err))
		return
	}
	sel, err := c.Select(box.Folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		rep.add("folder", CheckFailed, "cannot open %s: %v", box.Folder, err)
		return
	}
	rep.Messages, rep.UIDValidity = sel.NumMessages, sel.UIDValidity
	if st.NumUnseen != nil {
		rep.Unseen = *st.NumUnseen
	}
	if sel.UIDValidity == 0 {
		rep.add("folder", CheckFailed, "%s opened, but the server sent no UIDVALIDITY: postdesk cannot track it", box.Folder)
		return
	}
	rep.add("folder", CheckOK, "%s holds %d messages, %d unseen (UIDVALIDITY %d)", box.Folder, sel.NumMessages,
		rep.Unseen, sel.UIDValidity)
	if box.After != AfterMove {
		return
	}
	found, err := c.List("", box.MoveTo, nil).Collect()
	switch {
	case err != nil:
		rep.add("move_to", CheckFailed, "cannot look for %s: %v", box.MoveTo, err)
	case len(found) == 0:
		rep.add("move_to", CheckOK, "%s does not exist yet: postdesk creates it at the first poll", box.MoveTo)
	default:
		rep.add("move_to", CheckOK, "%s exists", box.MoveTo)
	}
}

// missingFolder explains a failed STATUS, listing the folders there are
// when the one configured is not among them.
func missingFolder(s *session, folder string, err error) string {
	list, lerr := s.c.List("", "*", nil).Collect()
	if lerr != nil {
		return fmt.Sprintf("cannot open %s: %v", folder, err)
	}
	var names []string
	for _, l := range list {
		if l.Mailbox == folder {
			return fmt.Sprintf("%s exists but cannot be opened: %v", folder, err)
		}
		names = append(names, l.Mailbox)
	}
	slices.Sort(names)
	return fmt.Sprintf("the folder %s does not exist; this account has: %s", folder, orNone(names))
}

func capNames(caps imap.CapSet) []string {
	out := make([]string, 0, len(caps))
	for c := range caps {
		out = append(out, string(c))
	}
	slices.Sort(out)
	return out
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
