package intake

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/postdesk/postdesk/ticket"
)

// Proof that a mail from an agent's address is the agent's (INVARIANTS 9).
// A From line proves nothing, and neither does an Authentication-Results
// field by itself: anyone can write one. What counts, in this order: the
// agent's signed reply address for the ticket; the results our own MTA
// added, when the mail came through it; a DKIM signature of the agent's
// domain that we verify ourselves.

const (
	// maxDKIMSignatures bounds the signatures verified per mail: each
	// costs a DNS lookup and a pass over the body.
	maxDKIMSignatures = 4
	// dkimTimeout bounds the DNS lookups of one mail's DKIM keys. They run
	// inside the mail's transaction, and only for mail from an agent's
	// address that proves nothing else.
	dkimTimeout = 5 * time.Second
)

// authenticated says how the mail proves it came from agent, or "" when it
// does not: it was sent to the agent's signed reply address for the ticket,
// a trusted Authentication-Results field shows DKIM, DMARC or SPF passing
// for the agent's domain, or it carries a valid DKIM signature of that
// domain.
func (d *delivery) authenticated(ctx context.Context, agent ticket.Agent, th threading) string {
	if th.signedAgent != nil && th.signedAgent.ID == agent.ID {
		return "signed reply address"
	}
	_, domain, _ := strings.Cut(strings.ToLower(agent.Email), "@")
	if domain == "" || domainOf(d.msg.From.Address) != domain {
		return ""
	}
	// A verifier (ours, or the MTA's that wrote the results) must have
	// read the same header as the parser, or lines it took for unsigned
	// header fields are the body whose commands would run.
	h, ok := plainHeader(d.raw)
	if !ok || h["from"] != 1 {
		return ""
	}
	d.rawHeader = h
	if how := d.authResults(domain); how != "" {
		return how
	}
	return d.dkimSigned(ctx, domain)
}

// trustedResults are the results of the mail's topmost
// Authentication-Results field, when that field was added inside our trust
// boundary (RFC 8601 §5): it carries our authserv-id, and the mail came
// over SMTP or LMTP from a trusted relay, which adds its field above all
// others and removes older ones claiming its id, or from an IMAP mailbox,
// whose provider did the same. A field with our id below a foreign one, or
// in mail from any other peer, is a claim by whoever wrote it.
func (d *delivery) trustedResults() []authres.Result {
	id := d.p.opts.AgentMail.AuthservID
	if id == "" || !d.p.opts.AgentMail.inside(d.env) {
		return nil
	}
	values := d.msg.Header.Values("Authentication-Results")
	if len(values) == 0 {
		return nil
	}
	ident, results, err := authres.Parse(values[0])
	if err != nil || !strings.EqualFold(ident, id) {
		return nil
	}
	return results
}

// inside reports whether the mail arrived from inside the trust boundary.
func (p AgentMailPolicy) inside(env Envelope) bool {
	switch env.Transport {
	case TransportIMAP:
		return true
	case TransportSMTP, TransportLMTP:
	default:
		return false
	}
	if strings.HasPrefix(env.Remote, "unix:") {
		return p.TrustSocket
	}
	ap, err := netip.ParseAddrPort(env.Remote)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, r := range p.TrustedRelays {
		if r.Contains(addr) {
			return true
		}
	}
	return false
}

// authResults names the trusted result that passes for domain, or "".
func (d *delivery) authResults(domain string) string {
	for _, r := range d.trustedResults() {
		switch r := r.(type) {
		case *authres.DKIMResult:
			if r.Value == authres.ResultPass && signs(r.Domain, domain) {
				return "DKIM pass (" + r.Domain + ")"
			}
		case *authres.DMARCResult:
			if r.Value == authres.ResultPass && aligned(r.From, domain) {
				return "DMARC pass (" + r.From + ")"
			}
		case *authres.SPFResult:
			if r.Value == authres.ResultPass && aligned(domainOf(r.From), domain) {
				return "SPF pass (" + r.From + ")"
			}
		}
	}
	return ""
}

// errKeyNotAsked: the DKIM key of a domain that could not prove the mail
// anyway is not looked up.
var errKeyNotAsked = errors.New("intake: DKIM key not looked up: the signing domain is not the sender's")

// dkimSigned verifies the mail's DKIM signatures and names the valid one
// of domain (or of a parent domain), or returns "". Only keys of such
// domains are looked up, so a mail cannot make us query any name it likes.
func (d *delivery) dkimSigned(ctx context.Context, domain string) string {
	if d.rawHeader["dkim-signature"] == 0 {
		return ""
	}
	lookup := d.p.opts.AgentMail.LookupTXT
	if lookup == nil {
		lookup = net.DefaultResolver.LookupTXT
	}
	ctx, cancel := context.WithTimeout(ctx, dkimTimeout)
	defer cancel()
	opts := &dkim.VerifyOptions{MaxVerifications: maxDKIMSignatures, LookupTXT: func(name string) ([]string, error) {
		i := strings.LastIndex(strings.ToLower(name), "._domainkey.")
		if i < 0 || !signs(name[i+len("._domainkey."):], domain) {
			return nil, errKeyNotAsked
		}
		return lookup(ctx, name)
	}}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(d.raw), opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		d.p.log.Debug("DKIM verification failed", "message_id", d.msg.MessageID, "error", err)
		return ""
	}
	for _, v := range verifs {
		if v.Err == nil && signs(v.Domain, domain) && coversThread(v.HeaderKeys, d.rawHeader) {
			return "DKIM signature (" + strings.ToLower(v.Domain) + ")"
		}
	}
	return ""
}

// threadFields are the fields that say what a mail is and which ticket it
// acts on. A signature proves an agent's mail only when it covers each of
// them the mail has, and the mail has each at most once: else the agent's
// signed "#close" for one ticket could be sent again, with a Subject or
// References of another ticket above the signed ones, and act there (the
// Message-ID makes a resend of the mail as signed a duplicate).
var threadFields = []string{"from", "subject", "message-id", "in-reply-to", "references"}

func coversThread(signed []string, header map[string]int) bool {
	covered := map[string]bool{}
	for _, k := range signed {
		covered[strings.ToLower(strings.TrimSpace(k))] = true
	}
	if !covered["from"] || !covered["message-id"] {
		return false
	}
	for _, f := range threadFields {
		if n := header[f]; n > 1 || (n == 1 && !covered[f]) {
			return false
		}
	}
	return true
}

// plainHeader counts the fields of raw's header, by lower-case name, when
// the header is plain: every line up to the first empty one is a field
// ("Name: value") or the folded continuation of one. A line of only blanks,
// a line without a colon, or no empty line at all is read one way by our
// parser (which ends the header there, or skips the line) and another by a
// DKIM verifier (which reads on): such a mail proves no one.
func plainHeader(raw []byte) (map[string]int, bool) {
	fields := map[string]int{}
	for pos := 0; pos < len(raw); {
		end := bytes.IndexByte(raw[pos:], '\n')
		if end < 0 {
			return nil, false // no body, no empty line
		}
		line := bytes.TrimSuffix(raw[pos:pos+end], []byte("\r"))
		pos += end + 1
		switch {
		case len(line) == 0:
			return fields, len(fields) > 0
		case len(bytes.Trim(line, " \t")) == 0:
			return nil, false
		case line[0] == ' ' || line[0] == '\t':
			if len(fields) == 0 {
				return nil, false
			}
		default:
			name, _, ok := bytes.Cut(line, []byte(":"))
			if !ok || len(name) == 0 || bytes.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r > '~' }) {
				return nil, false
			}
			fields[strings.ToLower(string(name))]++
		}
	}
	return nil, false
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return strings.ToLower(addr)
}

// aligned is relaxed alignment: the same domain or one a subdomain of the other.
func aligned(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSpace(a)), strings.ToLower(strings.TrimSpace(b))
	return a != "" && b != "" && (a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a))
}

// signs reports whether a DKIM signature of signer vouches for mail from
// domain: signer is that domain or a parent of it (not a mere top-level
// label). Unlike relaxed alignment, a subdomain (a newsletter service's,
// say) cannot sign for its parent's people.
func signs(signer, domain string) bool {
	signer, domain = strings.ToLower(strings.TrimSpace(signer)), strings.ToLower(strings.TrimSpace(domain))
	return strings.Contains(signer, ".") && (signer == domain || strings.HasSuffix(domain, "."+signer))
}
