package intake

import "strings"

// RFC 5321 §4.5.1: a server must accept mail to postmaster at each domain
// it serves, and to <postmaster> without a domain. Such mail goes where
// Options.Postmaster says, as mail to that mailbox would; with none
// configured it is kept in quarantine, where an admin sees it.

// isPostmaster reports whether addr is postmaster at a domain of one of
// our mailboxes, or postmaster without a domain; in any case.
func (p *Processor) isPostmaster(addr string) bool {
	local, domain, ok := strings.Cut(strings.Trim(strings.TrimSpace(addr), "<>"), "@")
	if !strings.EqualFold(local, "postmaster") {
		return false
	}
	if !ok {
		return true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.domains[strings.ToLower(domain)]
}

// postmasterBox is the mailbox postmaster mail goes to, if one is configured.
func (p *Processor) postmasterBox(addr string) (string, bool) {
	if p.opts.Postmaster == "" || !p.isPostmaster(addr) {
		return "", false
	}
	return p.opts.Postmaster, true
}

// unroutedPostmaster is the reason to keep mail that only postmaster was
// sent and no mailbox takes; "" when some recipient is a mailbox's.
func (d *delivery) unroutedPostmaster() string {
	if d.env.MailboxID != 0 || len(d.env.Rcpt) == 0 {
		return ""
	}
	for _, r := range d.env.Rcpt {
		if !d.p.isPostmaster(r) {
			return ""
		}
		if _, ok := d.p.Mailbox(r); ok {
			return ""
		}
	}
	return "mail to " + d.env.Rcpt[0] + " (RFC 5321 postmaster): no mailbox is configured for it (listen.postmaster)"
}
