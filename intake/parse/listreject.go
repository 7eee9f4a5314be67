package parse

import (
	"regexp"
	"strings"
)

// A notice we send to a mailing list that refuses it comes back from the
// list manager, not from an MTA: Mailman answers from the list's -owner
// address under the original subject with the refused mail attached,
// LISTSERV from its own address with the mail pasted below a rule, Sympa,
// Majordomo and fml likewise. None of them writes a DSN. Such a rejection
// is a failed delivery of our notice to the list address.

// listSoftware are the local parts list managers send their own mail from.
var listSoftware = []string{"listserv", "sympa", "majordomo", "mailman", "ecartis", "lyris", "listproc", "smartlist",
	"mlmmj", "ezmlm", "fml"}

var (
	// listAdminAffix matches the administrative addresses of one list
	// ("team-owner", "team-bounces", "owner-team"); the rest is the list.
	listAdminAffix = regexp.MustCompile(`(?i)^(?:owner-(.+)|(.+?)-(?:owner|bounces?|request|admin))$`)
	// listRejected says, in the list managers' own words, that a post was
	// refused. It runs on asciiLower text.
	listRejected = regexp.MustCompile(`rejected|refused|not (allowed|authori[sz]ed|permitted) to (post|send)|non-?member` +
		`|not a (member|subscriber)|not subscribed|authori[sz]ation denied|(was|been) (discarded|denied)` +
		`|could not be distributed|was not distributed|loop alert`)
	// listHeld says the post waits for a moderator: delayed, not refused.
	listHeld = regexp.MustCompile(`being held|held for|awaits? (the )?moderator|moderator approval|pending (moderator|approval)|requires approval`)
)

// listHeaders are fields only list managers write (not X-Loop, which
// ticket systems and filters write too).
var listHeaders = []string{"List-Id", "X-Mailman-Version", "X-BeenThere", "X-MLServer", "X-ML-Name", "X-LSV-ListID",
	"X-Sympa-To", "X-Listname", "X-List-Administrivia"}

// listManagerMail reports mail that a list manager wrote itself: Mailman's
// X-List-Administrivia, a sender that is list software, or a list's
// administrative address of the list's own domain in mail that carries
// list headers and says a machine sent it (Auto-Submitted, a null
// Return-Path). A person's mail that a list passed on has list headers
// too, and "web-admin@" is a person's address as often as a list's. It runs
// on every mail, so the common case (no list header) costs a glance at each
// field's first letter.
func listManagerMail(m *Message) bool {
	local, _, _ := strings.Cut(m.From.Address, "@")
	for _, name := range listSoftware {
		if strings.EqualFold(local, name) {
			return true
		}
	}
	listed := false
	for _, f := range m.Header.fields {
		if f.Name == "" || f.Name[0]|0x20 != 'x' && f.Name[0]|0x20 != 'l' {
			continue
		}
		for _, name := range listHeaders {
			if strings.EqualFold(f.Name, name) {
				listed = true
			}
		}
		if strings.EqualFold(f.Name, "X-List-Administrivia") && strings.EqualFold(strings.TrimSpace(f.Value), "yes") {
			return true
		}
	}
	if !listed || !listAdminAffix.MatchString(local) {
		return false
	}
	as := strings.ToLower(strings.TrimSpace(m.AutoSubmitted))
	machine := (as != "" && !strings.HasPrefix(as, "no")) || strings.TrimSpace(m.Header.Get("Return-Path")) == "<>"
	return machine && ofList(m)
}

// ofList reports whether the sender's domain is the list's: the domain
// part of List-Id (<name.lists.example.org>) ends with it.
func ofList(m *Message) bool {
	_, domain, _ := strings.Cut(strings.ToLower(m.From.Address), "@")
	id := strings.ToLower(strings.Trim(strings.TrimSpace(m.ListID), "<>"))
	if i := strings.LastIndexByte(id, '<'); i >= 0 { // "Description <name.domain>"
		id = strings.TrimRight(id[i+1:], ">")
	}
	return domain != "" && (id == domain || strings.HasSuffix(id, "."+domain))
}

// listRejection returns the delivery failure a list manager's notice
// reports, or nil when m is none. notice is the text before the refused
// mail, original the attached refused mail, if any.
func (p *parser) listRejection(m *Message, notice string, original *entity) *BounceInfo {
	if !listManagerMail(m) {
		return nil
	}
	words := asciiLower(head(m.Subject, 1024) + "\n" + head(notice, 4096))
	if !listRejected.MatchString(words) || listHeld.MatchString(words) {
		return nil
	}
	info := &BounceInfo{Action: "failed", Diagnostic: truncate(firstParagraph(notice), 300)}
	switch local, domain, _ := strings.Cut(m.From.Address, "@"); {
	case emailInText.MatchString(m.Subject):
		info.Recipient = emailInText.FindString(m.Subject)
	case listAdminAffix.MatchString(local) && domain != "":
		sub := listAdminAffix.FindStringSubmatch(local)
		info.Recipient = sub[1] + sub[2] + "@" + domain
	case original != nil:
		if to := parseAddressList(headerValue(p.decodedBody(original), "To")); len(to) > 0 {
			info.Recipient = to[0].Address
		}
	}
	return info
}

// firstParagraph returns the first paragraph of text on one line.
func firstParagraph(text string) string {
	text = strings.TrimLeft(text, " \t\n")
	if i := strings.Index(text, "\n\n"); i >= 0 {
		text = text[:i]
	}
	return strings.Join(strings.Fields(text), " ")
}

// headerValue reads the field called name from the header block at the
// start of data (an attached message).
func headerValue(data []byte, name string) string {
	fields, _, _ := splitHeader(normalizeNewlines(data))
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return bestEffortUTF8([]byte(unfold(f.value)))
		}
	}
	return ""
}
