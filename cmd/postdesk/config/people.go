package config

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	departmentKeys = []string{"name", "email", "notices", "templates_dir"}
	noticeKeys     = []string{"customer_ack", "customer_reply", "customer_resolved", "customer_closed",
		"agent_new_ticket", "agent_new_message", "agent_assigned", "agent_transfer", "agent_note", "agent_resolved"}
	agentKeys     = []string{"name", "email", "username", "departments", "active"}
	helpTopicKeys = []string{"name", "department", "priority"}
)

// items returns the mappings listed under key, each with its path; a
// required list must have at least one item.
func (d *decoder) items(r *object, key string, known []string, required bool) []*object {
	var list []*yaml.Node
	if required {
		list = r.needList(key)
	} else {
		list = r.list(key)
	}
	objs := make([]*object, 0, len(list))
	for i, n := range list {
		objs = append(objs, d.object(n, n, index(join(r.path, key), i), known))
	}
	return objs
}

// uniq reports values seen twice under one key, ignoring case.
type uniq struct {
	what string
	seen map[string]bool
}

func newUniq(what string) *uniq { return &uniq{what: what, seen: map[string]bool{}} }

// check reports v when an earlier entry already used it.
func (u *uniq) check(o *object, key, v string) {
	if v == "" {
		return
	}
	k := strings.ToLower(v)
	if u.seen[k] {
		o.errf(key, "duplicate %s %q", u.what, v)
	}
	u.seen[k] = true
}

func (d *decoder) departments(r *object, key string, c *Config) []Department {
	objs := d.items(r, key, departmentKeys, true)
	out := make([]Department, 0, len(objs))
	names := newUniq("department name")
	for _, o := range objs {
		dep := Department{
			Name:         o.required("name"),
			Email:        o.address("email", false),
			Notices:      d.notices(o.child("notices", noticeKeys)),
			TemplatesDir: o.file("templates_dir", true),
		}
		names.check(o, "name", dep.Name)
		o.notMailbox("email", dep.Email, c)
		out = append(out, dep)
	}
	return out
}

func (d *decoder) notices(o *object) Notices {
	return Notices{
		CustomerAck:      o.boolean("customer_ack", true),
		CustomerReply:    o.boolean("customer_reply", true),
		CustomerResolved: o.boolean("customer_resolved", true),
		CustomerClosed:   o.boolean("customer_closed", false),
		AgentNewTicket:   o.boolean("agent_new_ticket", true),
		AgentNewMessage:  o.boolean("agent_new_message", true),
		AgentAssigned:    o.boolean("agent_assigned", true),
		AgentTransfer:    o.boolean("agent_transfer", true),
		AgentNote:        o.boolean("agent_note", true),
		AgentResolved:    o.boolean("agent_resolved", true),
	}
}

// username is what "#assign ken" can name.
var username = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func (d *decoder) agents(r *object, key string, c *Config) []Agent {
	objs := d.items(r, key, agentKeys, false)
	out := make([]Agent, 0, len(objs))
	emails, users := newUniq("agent email"), map[string]bool{}
	for _, o := range objs {
		i := len(out)
		a := Agent{
			Name:     o.required("name"),
			Email:    o.address("email", true),
			Username: strings.ToLower(o.str("username")),
			Active:   o.boolean("active", true),
		}
		emails.check(o, "email", a.Email)
		o.notMailbox("email", a.Email, c)
		d.username(o, &a, users)
		seen := map[string]bool{}
		for j, n := range o.needList("departments") {
			path := index(join(o.path, "departments"), j)
			name := d.refName(n, path)
			a.Departments = append(a.Departments, name)
			switch {
			case name == "":
				continue
			case seen[strings.ToLower(name)]:
				d.add(n, path, "department %q is listed twice", name)
			}
			seen[strings.ToLower(name)] = true
			d.refs = append(d.refs, ref{kind: refDepartment, name: name, at: n, path: path,
				set: func(s string) { c.Agents[i].Departments[j] = s }})
		}
		out = append(out, a)
	}
	return out
}

// username checks the agent's username, deriving it from the email's local
// part when the file leaves it out.
func (d *decoder) username(o *object, a *Agent, seen map[string]bool) {
	key := "username"
	if a.Username == "" && a.Email != "" {
		a.Username = strings.ToLower(a.Email[:strings.LastIndexByte(a.Email, '@')])
		key = "email" // the name came from there: point at it
	}
	switch {
	case a.Username == "":
		return
	case !username.MatchString(a.Username):
		o.errf(key, "username %q may only hold a-z, 0-9, '.', '_' and '-'; set username explicitly", a.Username)
	case seen[a.Username] && key == "email":
		o.errf(key, "username %q (the email's local part) is already taken; set username explicitly", a.Username)
	case seen[a.Username]:
		o.errf(key, "duplicate username %q", a.Username)
	}
	seen[a.Username] = true
}

// refName returns the name a list item holds, reporting non-strings.
func (d *decoder) refName(n *yaml.Node, path string) string {
	r := resolve(n)
	if r == nil || r.Kind != yaml.ScalarNode || r.ShortTag() == "!!null" {
		what := "nothing"
		if r != nil && !isNull(r) {
			what = describe(r)
		}
		d.add(n, path, "expected a name, got %s", what)
		return ""
	}
	return strings.TrimSpace(r.Value)
}

func (d *decoder) helpTopics(r *object, key string, c *Config) []HelpTopic {
	objs := d.items(r, key, helpTopicKeys, false)
	out := make([]HelpTopic, 0, len(objs))
	names := newUniq("help topic name")
	for _, o := range objs {
		i := len(out)
		t := HelpTopic{
			Name:       o.required("name"),
			Department: o.required("department"),
			Priority:   enum(o, "priority", PriorityNormal, priorities...),
		}
		names.check(o, "name", t.Name)
		d.refDepartment(o, "department", t.Department, func(s string) { c.HelpTopics[i].Department = s })
		out = append(out, t)
	}
	return out
}
