package ticket_test

import (
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

func TestSignedReplyAddress(t *testing.T) {
	master := []byte("master-key-0123456789")
	kenKey := ticket.ReplyKey(master, []byte("ken's own secret"))
	maryKey := ticket.ReplyKey(master, []byte("mary's own secret"))
	ken := ticket.ReplyRecipient{Agent: true, ID: 7}

	addr := ticket.SignedReplyAddress("support+x@bank.example", "123456", ken, kenKey)
	if !strings.HasPrefix(addr, "support+pd.123456.a7.") || !strings.HasSuffix(addr, "@bank.example") {
		t.Fatalf("address %q", addr)
	}
	mailbox, tok, ok := ticket.ParseReplyAddress(addr)
	if !ok || mailbox != "support@bank.example" || tok.Number != "123456" || tok.Recipient != ken {
		t.Fatalf("parse %q = %q %+v %v", addr, mailbox, tok, ok)
	}
	if !tok.Valid(kenKey) {
		t.Fatal("genuine token rejected")
	}
	// Clients may change the case of an address.
	if _, up, ok := ticket.ParseReplyAddress(strings.ToUpper(addr)); !ok || !up.Valid(kenKey) {
		t.Fatal("upper-cased address rejected")
	}
	if tok.Valid(maryKey) {
		t.Fatal("token accepted under another agent's key")
	}
	for _, forged := range []string{
		strings.Replace(addr, ".123456.", ".654321.", 1), // another ticket
		strings.Replace(addr, ".a7.", ".a8.", 1),         // another agent
		strings.Replace(addr, ".a7.", ".c7.", 1),         // a contact instead
	} {
		_, ft, ok := ticket.ParseReplyAddress(forged)
		if !ok {
			t.Fatalf("%q did not parse", forged)
		}
		if ft.Valid(kenKey) {
			t.Fatalf("forged %q accepted", forged)
		}
	}
	for _, plain := range []string{"support@bank.example", "support+sales@bank.example", "pd.1.a1.x@bank.example",
		"support+pd.123456.x7.abc@bank.example", "support+pd.123456.a0.abc@bank.example", "support+pd..a1.abc@bank.example"} {
		if _, _, ok := ticket.ParseReplyAddress(plain); ok {
			t.Errorf("%q parsed as a reply address", plain)
		}
	}
}
