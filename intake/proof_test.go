package intake_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/ticket"
)

// forgedResults is what anyone can write into a mail: a pass for Ken's
// domain under our authserv-id.
const forgedResults = "Authentication-Results: mx.bank.example; dkim=pass header.d=bank.example"

// closeAsKen sends Ken's "#close" for the ticket to the mailbox address
// (not his signed reply address), with the header lines in top placed
// above all others, as an MTA adds them, and reports whether it ran.
func (r *rig) closeAsKen(number string, top ...string) bool {
	r.T.Helper()
	raw := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example",
		"Re: [#"+number+"] entire mobile online banking is down", "#close\nclosing it")
	r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, prepend(raw, top...))
	return r.Ticket(number).Status == ticket.StatusClosed
}

func prepend(raw string, lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	return b.String() + raw
}

func withAuthserv(relays ...string) func(*intake.Options, *listener.Config) {
	return func(o *intake.Options, _ *listener.Config) {
		o.AgentMail.AuthservID = "mx.bank.example"
		for _, s := range relays {
			o.AgentMail.TrustedRelays = append(o.AgentMail.TrustedRelays, netip.MustParsePrefix(s))
		}
	}
}

// TestForgedAuthResultsFromUntrustedPeer: a mail sent straight to the
// listener with a hand-written Authentication-Results field under our
// authserv-id used to run Ken's #close. With no trusted relay configured
// (the default), no such field is believed.
func TestForgedAuthResultsFromUntrustedPeer(t *testing.T) {
	r := newRig(t, nil, withAuthserv())
	number, _ := r.open()
	if r.closeAsKen(number, forgedResults) {
		t.Fatal("a forged Authentication-Results field from an untrusted peer ran #close")
	}
	for _, ev := range r.events(number) {
		if ev.Actor.Kind == ticket.ActorAgent {
			t.Fatalf("event attributed to the agent: %+v", ev)
		}
	}
}

// TestAuthResultsFromTrustedRelay: the same field from a configured
// trusted relay (here the test's own address) is our MTA's and runs the
// command; one of ours below a foreign field on top is not.
func TestAuthResultsFromTrustedRelay(t *testing.T) {
	r := newRig(t, nil, withAuthserv("127.0.0.1/32"))
	number, _ := r.open()
	if !r.closeAsKen(number, forgedResults) {
		t.Fatal("the trusted relay's Authentication-Results did not prove Ken's mail")
	}
	in := r.Inbound(r.lastMessageID())
	if in.Outcome != "follow_up" || !strings.Contains(in.Reason, "DKIM pass (bank.example)") {
		t.Fatalf("outcome %s (%s)", in.Outcome, in.Reason)
	}

	number, _ = r.open()
	if r.closeAsKen(number, "Authentication-Results: relay.other.example; none", forgedResults) {
		t.Fatal("our authserv-id below a foreign topmost field was trusted")
	}
	if r.closeAsKen(number, "Authentication-Results: mx.bank.example; dkim=pass header.d=evil.example") {
		t.Fatal("a pass for another domain was trusted")
	}
}

// lastMessageID is the Message-ID of the newest stored mail.
func (r *rig) lastMessageID() string {
	r.T.Helper()
	list, err := intake.StoredMails(context.Background(), r.Org.Store.Pool(), "", 1)
	if err != nil || len(list) == 0 {
		r.T.Fatalf("stored mails: %v", err)
	}
	return list[0].MessageID
}

// keys is a DNS zone of DKIM keys for the tests, counting what is asked.
type keys struct {
	mu      sync.Mutex
	records map[string]string
	asked   []string
}

func (k *keys) add(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.records == nil {
		k.records = map[string]string{}
	}
	k.records[name] = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	return key
}

func (k *keys) lookup(_ context.Context, name string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asked = append(k.asked, name)
	if rec, ok := k.records[strings.ToLower(name)]; ok {
		return []string{rec}, nil
	}
	return nil, errors.New("no such record")
}

func (k *keys) lookups() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.asked...)
}

// sign DKIM-signs raw as domain, selector s1, with key.
func sign(t *testing.T, raw, domain string, key *rsa.PrivateKey) string {
	t.Helper()
	var b bytes.Buffer
	err := dkim.Sign(&b, strings.NewReader(raw), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"}})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestAgentMailProvenByOwnDKIMVerification: with no trusted result (no
// relay, no Authentication-Results at all) a mail carrying a valid DKIM
// signature of Ken's domain is his; one signed by another domain, one
// changed after signing, or one with a second From field is not. Only
// keys of Ken's domain are looked up.
func TestAgentMailProvenByOwnDKIMVerification(t *testing.T) {
	var zone keys
	bank := zone.add(t, "s1._domainkey.bank.example")
	evil := zone.add(t, "s1._domainkey.evil.example")
	r := newRig(t, nil, func(o *intake.Options, _ *listener.Config) { o.AgentMail.LookupTXT = zone.lookup })
	mail := func(number string) string {
		return intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example",
			"Re: [#"+number+"] entire mobile online banking is down", "#close\nclosing it")
	}
	send := func(number, raw string) bool {
		t.Helper()
		r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, raw)
		return r.Ticket(number).Status == ticket.StatusClosed
	}

	number, _ := r.open()
	if send(number, sign(t, mail(number), "evil.example", evil)) {
		t.Fatal("a DKIM signature of another domain proved Ken's mail")
	}
	if send(number, strings.Replace(sign(t, mail(number), "bank.example", bank), "closing it", "closing it now", 1)) {
		t.Fatal("a mail changed after signing proved Ken's mail")
	}
	if send(number, prepend(sign(t, mail(number), "bank.example", bank), "From: Ken Jay <ken.jay@bank.example>")) {
		t.Fatal("a signed mail with a second From field proved Ken's mail")
	}
	if !send(number, sign(t, mail(number), "bank.example", bank)) {
		t.Fatal("Ken's DKIM-signed mail did not run #close")
	}
	if in := r.Inbound(r.lastMessageID()); !strings.Contains(in.Reason, "DKIM signature (bank.example)") {
		t.Fatalf("outcome %s (%s)", in.Outcome, in.Reason)
	}
	for _, name := range zone.lookups() {
		if name != "s1._domainkey.bank.example" {
			t.Errorf("looked up %s", name)
		}
	}
}

// TestAuthResultsOverTrustedSocket: an LMTP listener on a unix socket has
// no peer address; its peers are trusted only when "unix" is listed.
func TestAuthResultsOverTrustedSocket(t *testing.T) {
	for _, trust := range []bool{false, true} {
		sock := filepath.Join(t.TempDir(), "lmtp.sock")
		r := newRig(t, nil, func(o *intake.Options, lc *listener.Config) {
			o.AgentMail.AuthservID, o.AgentMail.TrustSocket = "mx.bank.example", trust
			lc.Network, lc.Addr, lc.LMTP = "unix", sock, true
		})
		number, _ := r.open()
		raw := prepend(intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example",
			"Re: [#"+number+"] entire mobile online banking is down", "#close\nclosing it"), forgedResults)
		r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, raw)
		if got := r.Ticket(number).Status == ticket.StatusClosed; got != trust {
			t.Fatalf("trusting the socket %v: #close ran %v", trust, got)
		}
	}
}

// TestAuthResultsOverIMAP: mail the poller fetched was received by the
// provider, whose topmost Authentication-Results carries the configured
// authserv-id: it counts without any relay, one of ours below a foreign
// field does not. (The poller's envelopes, as here, say TransportIMAP.)
func TestAuthResultsOverIMAP(t *testing.T) {
	r := newRig(t, nil, withAuthserv())
	deliver := func(number string, uid uint32, top ...string) bool {
		t.Helper()
		raw := prepend(intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example",
			"Re: [#"+number+"] entire mobile online banking is down", "#close\nclosing it"), top...)
		env := intake.Envelope{Transport: intake.TransportIMAP, IMAPUIDValidity: 1, IMAPUID: uid}
		if _, err := r.Proc.Deliver(context.Background(), env, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		return r.Ticket(number).Status == ticket.StatusClosed
	}
	number, _ := r.open()
	if deliver(number, 1, "Authentication-Results: mx.google.example; dkim=pass header.d=bank.example", forgedResults) {
		t.Fatal("our authserv-id below the provider's foreign field was trusted")
	}
	if !deliver(number, 2, forgedResults) {
		t.Fatal("the provider's topmost Authentication-Results did not prove Ken's mail")
	}
}

// TestDKIMProofNeedsAPlainHeader: our parser ends a header at a line of
// only blanks (or skips a line without a colon) where a DKIM verifier
// reads on, taking what follows for unsigned header fields. A line that
// the verifier ignores would then be our body, whose commands run: a
// signed mail of Ken's (or of anyone at his domain) with " " and "#close"
// put in above its blank line still verified, and closed the ticket. Such
// a header proves no one; nor does a signature that leaves the Subject or
// the threading fields unsigned, or a second Subject above the signed one
// (an old signed "#close" of Ken's sent again to act on another ticket).
func TestDKIMProofNeedsAPlainHeader(t *testing.T) {
	var zone keys
	bank := zone.add(t, "s1._domainkey.bank.example")
	r := newRig(t, nil, func(o *intake.Options, _ *listener.Config) { o.AgentMail.LookupTXT = zone.lookup })
	number, _ := r.open()
	closed := func() bool { return r.Ticket(number).Status == ticket.StatusClosed }
	// Mallory has an account at Ken's domain and one mail of hers signed
	// by it. Above its signed fields she writes Ken's From and the ticket's
	// Subject, then a line our parser ends the header at, then #close.
	for i, hide := range []string{" \r\n", "\t\r\n", "X-A: b\r\n \r\n"} {
		hers := sign(t, intaketest.Mail("Mallory <mallory@bank.example>", "friend@elsewhere.example",
			fmt.Sprintf("lunch %d", i), "see you at noon"), "bank.example", bank)
		sig, rest, _ := strings.Cut(hers, "\r\nFrom: ")
		raw := sig + "\r\nFrom: Ken Jay <ken.jay@bank.example>\r\nSubject: Re: [#" + number + "] entire mobile online banking is down\r\n" +
			hide + "#close\r\nFrom: " + rest
		r.MustSend("mallory@bank.example", []string{"outage@bank.example"}, raw)
		if closed() {
			t.Fatalf("case %d: a #close hidden below a line the parser ends the header at ran as Ken's", i)
		}
	}

	// The Subject must be signed, and read where it was signed.
	other, _ := r.open()
	closeOther := intaketest.Mail("Ken Jay <ken.jay@bank.example>", "outage@bank.example",
		"Re: [#"+number+"] entire mobile online banking is down", "#close\nclosing it")
	resent := prepend(sign(t, closeOther, "bank.example", bank), "Subject: Re: [#"+other+"] entire mobile online banking is down")
	r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, resent)
	if r.Ticket(other).Status == ticket.StatusClosed || closed() {
		t.Fatal("a signed #close sent again under a second Subject ran")
	}
	var b bytes.Buffer
	if err := dkim.Sign(&b, strings.NewReader(closeOther), &dkim.SignOptions{Domain: "bank.example", Selector: "s1", Signer: bank,
		HeaderKeys: []string{"From", "Message-ID"}}); err != nil {
		t.Fatal(err)
	}
	r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, b.String())
	if closed() {
		t.Fatal("a signature that leaves the Subject unsigned proved Ken's #close")
	}
	// The same mail, plainly signed, is Ken's.
	r.MustSend("ken.jay@bank.example", []string{"outage@bank.example"}, sign(t,
		strings.Replace(closeOther, "Message-ID: <", "Message-ID: <plain-", 1), "bank.example", bank))
	if !closed() {
		t.Fatal("Ken's plainly signed #close did not run")
	}
}
