package ticket

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"
)

// A signed reply address routes a reply to its ticket and proves who it was
// sent to: mailbox+pd.NUMBER.a12.MAC@domain, where a12 names agent 12 (c12
// would be contact 12) and MAC is an HMAC over the ticket number and the
// recipient. An agent's MAC is keyed with the master key and the agent's own
// secret, so a leaked address is bound to one ticket and one agent, and
// rotating one agent's secret invalidates only that agent's addresses.

// ReplyRecipient is who a signed reply address was sent to.
type ReplyRecipient struct {
	Agent bool  // true for an agent, false for a customer or collaborator
	ID    int64 // agent id or contact (customer) id
}

// ReplyToken is the routing part of a signed reply address.
type ReplyToken struct {
	Number    string
	Recipient ReplyRecipient
	MAC       string
}

const replyTagPrefix = "pd."

var macEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ReplyKey derives the HMAC key for a recipient's reply addresses from the
// master key and, for agents, the agent's secret.
func ReplyKey(master, agentSecret []byte) []byte {
	m := hmac.New(sha256.New, master)
	if agentSecret != nil {
		m.Write([]byte("agent\x00"))
		m.Write(agentSecret)
	} else {
		m.Write([]byte("contact\x00"))
	}
	return m.Sum(nil)
}

func replyMAC(key []byte, number string, r ReplyRecipient) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s\x00%t\x00%d", strings.ToUpper(number), r.Agent, r.ID)
	return strings.ToLower(macEncoding.EncodeToString(m.Sum(nil)[:10])) // 80 bits
}

// SignedReplyAddress returns mailbox's address tagged for replies about
// ticket number by recipient r.
func SignedReplyAddress(mailbox, number string, r ReplyRecipient, key []byte) string {
	local, domain, _ := strings.Cut(mailbox, "@")
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	kind := "c"
	if r.Agent {
		kind = "a"
	}
	return fmt.Sprintf("%s+%s%s.%s%d.%s@%s", local, replyTagPrefix, strings.ToLower(number), kind, r.ID,
		replyMAC(key, number, r), domain)
}

// ParseReplyAddress splits a signed reply address into the mailbox address it
// was made from and its token. ok is false for any other address. The token
// is not yet verified: see ReplyToken.Valid.
func ParseReplyAddress(addr string) (mailbox string, tok ReplyToken, ok bool) {
	local, domain, found := strings.Cut(strings.TrimSpace(addr), "@")
	if !found {
		return "", tok, false
	}
	base, tag, found := strings.Cut(local, "+")
	if !found || len(tag) <= len(replyTagPrefix) || !strings.EqualFold(tag[:len(replyTagPrefix)], replyTagPrefix) {
		return "", tok, false
	}
	parts := strings.Split(tag[len(replyTagPrefix):], ".")
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) < 2 || parts[2] == "" {
		return "", tok, false
	}
	id, err := strconv.ParseInt(parts[1][1:], 10, 64)
	if err != nil || id <= 0 {
		return "", tok, false
	}
	switch parts[1][0] {
	case 'a', 'A':
		tok.Recipient.Agent = true
	case 'c', 'C':
	default:
		return "", tok, false
	}
	tok.Recipient.ID = id
	tok.Number = strings.ToUpper(parts[0])
	tok.MAC = strings.ToLower(parts[2])
	return base + "@" + domain, tok, true
}

// Valid reports whether the token's MAC was made with key.
func (t ReplyToken) Valid(key []byte) bool {
	want := replyMAC(key, t.Number, t.Recipient)
	return hmac.Equal([]byte(want), []byte(t.MAC))
}
