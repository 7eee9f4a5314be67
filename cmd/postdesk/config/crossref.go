package config

import (
	"fmt"
	"net"
	"strings"

	"gopkg.in/yaml.v3"
)

// ref is a name that must match a department or help topic. References are
// checked once every section is decoded, so the file may list things in any
// order; set rewrites the name to the spelling of the entry it names.
type ref struct {
	kind string // "department" or "help topic"
	name string
	at   *yaml.Node
	path string
	set  func(canonical string)
}

func (d *decoder) refDepartment(o *object, key, name string, set func(string)) {
	if name != "" {
		d.refs = append(d.refs, ref{kind: refDepartment, name: name, at: o.pos(key), path: join(o.path, key), set: set})
	}
}

func (d *decoder) refHelpTopic(o *object, key, name string, set func(string)) {
	if name != "" {
		d.refs = append(d.refs, ref{kind: refHelpTopic, name: name, at: o.pos(key), path: join(o.path, key), set: set})
	}
}

const (
	refDepartment = "department"
	refHelpTopic  = "help topic"
)

// resolveRefs checks every reference and then fills in what mailboxes
// inherit from their help topic.
func (d *decoder) resolveRefs(c *Config) {
	known := map[string][]string{}
	for _, dep := range c.Departments {
		known[refDepartment] = append(known[refDepartment], dep.Name)
	}
	for _, t := range c.HelpTopics {
		known[refHelpTopic] = append(known[refHelpTopic], t.Name)
	}
	for _, r := range d.refs {
		canon := ""
		for _, n := range known[r.kind] {
			if strings.EqualFold(n, r.name) {
				canon = n
				break
			}
		}
		if canon == "" {
			d.add(r.at, r.path, "unknown %s %q%s", r.kind, r.name, hint(r.name, known[r.kind]))
			continue
		}
		r.set(canon)
	}
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		if t := c.HelpTopic(m.HelpTopic); t != nil && m.HelpTopic != "" {
			if m.Department == "" {
				m.Department = t.Department
			}
			if m.Priority == "" {
				m.Priority = t.Priority
			}
		}
		if m.Priority == "" {
			m.Priority = PriorityNormal
		}
	}
}

// hint suggests the closest name, or lists the known ones when few.
func hint(name string, known []string) string {
	if s := didYouMean(name, known); s != "" {
		return s
	}
	switch {
	case len(known) == 0:
		return " (none are defined)"
	case len(known) <= 8:
		return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
	}
	return ""
}

// notMailbox reports addr when it is one of postdesk's own mailbox
// addresses: notices sent there would come back as new tickets, and mail
// from an agent would look like mail to the help desk.
func (o *object) notMailbox(key, addr string, c *Config) {
	if addr == "" {
		return
	}
	if m := c.MailboxByAddress(addr); m != nil {
		o.errf(key, "%s is the address of mailbox %q; use a different address so that mail does not loop", addr, m.Name)
	}
}

// headerSafe reports text that would end up in a mail header or subject
// and holds line breaks or other control characters.
func (o *object) headerSafe(key, s string) {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		o.errf(key, "must not contain line breaks or control characters")
	}
}

// host reports a host that is neither a DNS name nor an IP address.
func (o *object) host(key, h string) {
	if h == "" || net.ParseIP(strings.Trim(h, "[]")) != nil {
		return
	}
	if err := checkDomain(h); err != nil {
		o.errf(key, "invalid host %q: want a DNS name or an IP address", h)
	}
}
