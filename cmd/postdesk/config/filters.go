package config

import (
	"regexp"
	"strings"
)

var (
	filterKeys = []string{"name", "match", "set", "reject", "quarantine"}
	matchKeys  = []string{"from", "to", "subject", "body", "regexp"}
	setKeys    = []string{"help_topic", "department", "priority", "add_collaborator"}
)

// Filter acts on mail that opens a new ticket. Filters apply in file order.
type Filter struct {
	Name       string
	Match      FilterMatch
	Set        FilterSet
	Reject     string // reason; non-empty: no ticket, the mail is stored as rejected
	Quarantine string // reason; non-empty: no ticket, the mail is quarantined
}

// FilterMatch holds the conditions of a filter; every non-empty one must
// match. Without Regexp they are case-insensitive substrings; with it they
// are Go regexps matched as written (add (?i) for case-insensitivity).
type FilterMatch struct {
	From    string
	To      string
	Subject string
	Body    string
	Regexp  bool
	re      [4]*regexp.Regexp // compiled From, To, Subject, Body when Regexp
}

// FilterSet holds what a filter changes on the new ticket; empty fields
// change nothing.
type FilterSet struct {
	HelpTopic       string // canonical help topic name
	Department      string // canonical department name
	Priority        Priority
	AddCollaborator string // address
}

// Matches reports whether a message meets every condition of the filter.
// to holds the envelope or header recipients; the To condition matches
// when any of them does.
func (f *Filter) Matches(from string, to []string, subject, body string) bool {
	m := &f.Match
	if !m.test(0, m.From, from) || !m.test(2, m.Subject, subject) || !m.test(3, m.Body, body) {
		return false
	}
	if m.To == "" {
		return true
	}
	for _, rcpt := range to {
		if m.test(1, m.To, rcpt) {
			return true
		}
	}
	return false
}

func (m *FilterMatch) test(i int, pattern, value string) bool {
	if pattern == "" {
		return true
	}
	if !m.Regexp {
		return strings.Contains(strings.ToLower(value), strings.ToLower(pattern))
	}
	re := m.re[i]
	if re == nil { // a Filter built by hand rather than by Load
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			return false
		}
	}
	return re.MatchString(value)
}

func (d *decoder) filters(r *object, key string, c *Config) []Filter {
	objs := d.items(r, key, filterKeys, false)
	out := make([]Filter, 0, len(objs))
	names := newUniq("filter name")
	for _, o := range objs {
		i := len(out)
		f := Filter{
			Name:       o.required("name"),
			Match:      d.filterMatch(o),
			Reject:     o.str("reject"),
			Quarantine: o.str("quarantine"),
		}
		names.check(o, "name", f.Name)
		so := o.child("set", setKeys)
		f.Set = FilterSet{
			HelpTopic:       so.str("help_topic"),
			Department:      so.str("department"),
			Priority:        enum(so, "priority", "", priorities...),
			AddCollaborator: so.address("add_collaborator", false),
		}
		d.refHelpTopic(so, "help_topic", f.Set.HelpTopic, func(s string) { c.Filters[i].Set.HelpTopic = s })
		d.refDepartment(so, "department", f.Set.Department, func(s string) { c.Filters[i].Set.Department = s })
		sets := false // from the keys given, so a bad value is not also "no action"
		for _, k := range setKeys {
			sets = sets || so.has(k)
		}
		switch {
		case !sets && f.Reject == "" && f.Quarantine == "":
			d.add(o.at, o.path, "a filter needs an action: set, reject or quarantine")
		case f.Reject != "" && f.Quarantine != "":
			o.errf("quarantine", "reject and quarantine exclude each other")
		case sets && (f.Reject != "" || f.Quarantine != ""):
			o.errf("set", "has no effect on mail that is rejected or quarantined")
		}
		out = append(out, f)
	}
	return out
}

func (d *decoder) filterMatch(o *object) FilterMatch {
	mo := o.child("match", matchKeys)
	m := FilterMatch{
		From:    mo.str("from"),
		To:      mo.str("to"),
		Subject: mo.str("subject"),
		Body:    mo.str("body"),
		Regexp:  mo.boolean("regexp", false),
	}
	if m.From == "" && m.To == "" && m.Subject == "" && m.Body == "" {
		o.errf("match", "needs at least one of from, to, subject and body")
	}
	if !m.Regexp {
		return m
	}
	for i, k := range []string{"from", "to", "subject", "body"} {
		p := []string{m.From, m.To, m.Subject, m.Body}[i]
		if p == "" {
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			mo.errf(k, "invalid regexp %q: %s", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			continue
		}
		m.re[i] = re
	}
	return m
}

// ban decodes the list of addresses and @domains whose mail is quarantined.
func (d *decoder) ban(r *object, key string) []string {
	var out []string
	seen := map[string]bool{}
	for i, n := range r.list(key) {
		path := index(key, i)
		s := strings.ToLower(d.refName(n, path))
		if s == "" {
			continue
		}
		if dom, ok := strings.CutPrefix(s, "@"); ok {
			if err := checkDomain(dom); err != nil {
				d.add(n, path, "%v", err)
				continue
			}
		} else if _, err := bareAddress(s); err != nil {
			d.add(n, path, "%v (or write @domain to ban a whole domain)", err)
			continue
		}
		if seen[s] {
			d.add(n, path, "%q is listed twice", s)
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
