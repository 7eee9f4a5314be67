package mailer_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// TestDKIM: what the relay receives verifies with go-msgauth against the
// published public key, and stops verifying when altered.
func TestDKIM(t *testing.T) {
	// A key made for this test only (openssl genpkey): generating one here
	// takes seconds under the race detector.
	signer, err := mailer.ReadDKIMKey("testdata/dkim-test-rsa.pem")
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, ok := signer.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("key is a %T", signer)
	}
	if _, err := mailer.ReadDKIMKey("dkim.go"); err == nil || strings.Contains(err.Error(), "package mailer") {
		t.Errorf("a file without a key: %v", err)
	}
	rsaPub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		signer crypto.Signer
		record string
	}{
		{"rsa", rsaKey, "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub)},
		{"ed25519", edKey, "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(edPub)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *mailer.Options) {
				o.DKIM = &mailer.DKIM{Domain: "bank.example", Selector: "pd2025", Signer: tc.signer}
			}, nil)
			f.open("jane-1@user.com")
			f.deliver()
			lookup := func(domain string) ([]string, error) {
				if domain == "pd2025._domainkey.bank.example" {
					return []string{tc.record}, nil
				}
				return nil, errors.New("no such record: " + domain)
			}
			stored := map[string][]byte{}
			for _, r := range f.rows() {
				stored[r.MessageID] = r.Raw
			}
			for _, m := range f.sink.received() {
				vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: lookup})
				if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "bank.example" {
					t.Fatalf("verify mail to %v: %v %+v", m.To, err, vs)
				}
				for _, h := range []string{"from", "to", "subject", "date", "message-id", "in-reply-to", "references", "reply-to", "auto-submitted"} {
					if !slices.Contains(lowerAll(vs[0].HeaderKeys), h) {
						t.Errorf("signature does not cover %s: %v", h, vs[0].HeaderKeys)
					}
				}
				// The signature is prepended to the stored message, byte for byte.
				id := parse(t, m).messageID()
				if !bytes.HasPrefix(m.Data, []byte("DKIM-Signature:")) || !bytes.HasSuffix(m.Data, stored[id]) {
					t.Errorf("received mail is not the stored one with a signature in front")
				}
				tampered := bytes.Replace(m.Data, []byte("entire mobile online banking is down"), []byte("entire mobile online banking is fine"), 1)
				vs, err = dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: lookup})
				if err == nil && len(vs) == 1 && vs[0].Err == nil {
					t.Error("an altered subject still verifies")
				}
			}
		})
	}
}

func lowerAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToLower(v)
	}
	return out
}

func TestPreview(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) { o.WebURL = "https://support.bank.example/" }, nil)
	tk := f.open("jane-1@user.com")
	f.mustChange(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: fixText, Author: ticket.AgentActor(f.ken)})
		return err
	})
	rowsBefore := len(f.rows())
	raw, err := mailer.Preview(f.ctx, f.store, f.opts, templates.CustomerReply, tk.Number, "")
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, received{To: []string{jane}, Data: raw})
	checkCommon(t, p, tk.Number, "")
	if !strings.Contains(p.Text, fixText) || !strings.Contains(p.Text, "https://support.bank.example/tickets/"+tk.Number) {
		t.Errorf("preview text:\n%s", p.Text)
	}
	if ids := p.ids("References"); len(ids) < 2 || ids[0] != "jane-1@user.com" {
		t.Errorf("preview References %v", ids)
	}
	if got := len(f.rows()); got != rowsBefore {
		t.Errorf("preview queued %d notices", got-rowsBefore)
	}

	// Agent notices default to the first agent of the department.
	raw, err = mailer.Preview(f.ctx, f.store, f.opts, templates.AgentNewTicket, tk.Number, "")
	if err != nil {
		t.Fatal(err)
	}
	p = parse(t, received{To: []string{"ken.jay@bank.example"}, Data: raw})
	f.checkReplyTo(t, p, tk.Number, ticket.ReplyRecipient{Agent: true, ID: f.ken.ID}, f.ken.Secret)
	if !strings.Contains(p.Text, "#assign AGENT") {
		t.Errorf("agent preview:\n%s", p.Text)
	}
	// --to an agent by address.
	raw, err = mailer.Preview(f.ctx, f.store, f.opts, templates.AgentNote, tk.Number, "Mary@Bank.example")
	if err != nil {
		t.Fatal(err)
	}
	p = parse(t, received{To: []string{"mary@bank.example"}, Data: raw})
	f.checkReplyTo(t, p, tk.Number, ticket.ReplyRecipient{Agent: true, ID: f.mary.ID}, f.mary.Secret)

	for _, tc := range []struct{ name, number, want string }{
		{"customer_spam", tk.Number, "unknown notice"},
		{templates.CustomerAck, "999999", "not found"},
	} {
		if _, err := mailer.Preview(f.ctx, f.store, f.opts, tc.name, tc.number, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Preview(%s, %s) = %v, want %q", tc.name, tc.number, err, tc.want)
		}
	}
	// Every notice previews.
	for _, name := range templates.Names() {
		if _, err := mailer.Preview(f.ctx, f.store, f.opts, name, tk.Number, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAgentAnswers(t *testing.T) {
	f := newFixture(t, nil, nil)
	tk := f.open("jane-1@user.com")
	f.deliver()
	before := len(f.sink.received())
	sent := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	err := f.store.InTx(f.ctx, func(tx *ticket.Tx) error {
		if err := tx.Answer(f.ctx, ticket.AgentAnswer{
			Kind: ticket.AnswerCommandError, Ticket: tk, Agent: f.ken,
			Subject: "Re: [#" + tk.Number + "] entire mobile online banking is down", MessageID: "ken-7@bank.example",
			Date: sent, Error: `#transfer: no department named "Sysadmins"`,
		}); err != nil {
			return err
		}
		// About no ticket at all: still answered, without a token.
		return tx.Answer(f.ctx, ticket.AgentAnswer{
			Kind: ticket.AnswerUnauthenticated, Agent: f.ken, Mailbox: "outage@bank.example",
			Subject: "#close everything", MessageID: "forged-1@elsewhere.example", Error: "no signed reply address, no trusted DKIM or SPF pass",
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.deliver()
	got := byRecipient(t, f.sink.received()[before:])
	wantRecipients(t, got, "ken.jay@bank.example", "ken.jay@bank.example")
	var ce, un parsed
	for _, p := range got["ken.jay@bank.example"] {
		if strings.Contains(p.Text, "was not applied") {
			ce = p
		} else {
			un = p
		}
	}
	checkCommon(t, ce, tk.Number, "auto-replied")
	if ids := ce.ids("In-Reply-To"); len(ids) != 1 || ids[0] != "ken-7@bank.example" {
		t.Errorf("command error In-Reply-To %v", ids)
	}
	if !strings.Contains(ce.Text, `no department named "Sysadmins"`) || ce.subject() != "Re: [#"+tk.Number+"] entire mobile online banking is down" {
		t.Errorf("command error: %q\n%s", ce.subject(), ce.Text)
	}
	f.checkReplyTo(t, ce, tk.Number, ticket.ReplyRecipient{Agent: true, ID: f.ken.ID}, f.ken.Secret)
	if un.subject() != "Re: #close everything" || un.get("X-Postdesk-Ticket") != "" || un.get("Reply-To") != "" ||
		!strings.Contains(un.get("From"), "outage@bank.example") || !strings.Contains(un.Text, "could not be authenticated") {
		t.Errorf("unauthenticated notice: subject %q from %q\n%s", un.subject(), un.get("From"), un.Text)
	}
	// Which answers are refused is ticket/notice's to test.
}
