package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var rootKeys = []string{
	"organisation", "database", "tickets", "departments", "agents", "help_topics",
	"mailboxes", "listen", "relay", "templates", "filters", "ban", "agent_mail", "log", "web",
}

// Load reads the YAML file at path, applies defaults, checks every value and
// reference, and resolves `*_env` secrets through env (os.Getenv in
// production, a map lookup in tests; nil means os.Getenv). Relative paths in
// the file are relative to the file's directory.
//
// When the file cannot be read Load returns an error wrapping the os error
// (errors.Is(err, fs.ErrNotExist) works). When the file has problems it
// returns *Errors listing all of them. An unset database URL is not a
// problem: see Database.URLMissing.
func Load(path string, env func(string) string) (*Config, error) {
	return LoadWith(path, env, LoadOptions{})
}

// LoadOptions relax what Load requires.
type LoadOptions struct {
	// SecretsOptional makes an unset or empty `*_env` secret (the reply
	// secret, relay and IMAP passwords) no problem: its Secret stays empty
	// and the variable is listed in Config.MissingSecrets. Everything else,
	// a secret that is set but unusable included, is checked as by Load.
	// For commands that only read and never use a secret.
	SecretsOptional bool
}

// LoadWith is Load with options.
func LoadWith(path string, env func(string) string, opts LoadOptions) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if env == nil {
		env = os.Getenv
	}
	return parseWith(data, path, abs, env, opts)
}

// parse decodes data; file names it in problems, abs is its absolute path.
func parse(data []byte, file, abs string, env func(string) string) (*Config, error) {
	return parseWith(data, file, abs, env, LoadOptions{})
}

func parseWith(data []byte, file, abs string, env func(string) string, opts LoadOptions) (*Config, error) {
	d := &decoder{file: file, dir: filepath.Dir(abs), env: env, secretsOptional: opts.SecretsOptional}
	root := d.document(data)
	if root == nil {
		return nil, d.errors()
	}
	c := &Config{File: abs}
	d.decode(c, root)
	if len(d.probs) > 0 {
		return nil, d.errors()
	}
	c.MissingSecrets = d.missingSecrets
	return c, nil
}

// document parses the YAML text into its root node, recording syntax
// problems. It returns nil when there is nothing to decode.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(nil, "", "the file is empty")
		} else {
			d.syntax(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.add(&next, "", "only one YAML document is allowed; remove the second ---")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	if len(doc.Content) == 0 || isNull(resolve(doc.Content[0])) {
		d.add(nil, "", "the file is empty")
		return nil
	}
	d.expandEnv(doc.Content[0])
	return doc.Content[0]
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntax records a YAML parse error, lifting its line number out of the
// message so that it reads like every other problem.
func (d *decoder) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{File: d.file}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = err.Error()[len(m[0]):]
		if parserError(msg) {
			// yaml.v3 adds one to scanner lines only; parser lines are
			// 0-based.
			p.Line++
		}
	}
	p.Message = "YAML syntax error: " + msg
	d.probs = append(d.probs, p)
}

// parserError reports whether msg comes from yaml.v3's parser (parserc.go)
// rather than its scanner.
func parserError(msg string) bool {
	switch msg {
	case "found duplicate %YAML directive", "found incompatible YAML document",
		"found duplicate %TAG directive", "found undefined tag handle":
		return true
	}
	return strings.HasPrefix(msg, "did not find expected")
}

// decode fills c from the root mapping. Sections are decoded in dependency
// order whatever order the file uses (listen before mailboxes, mailboxes
// before the addresses that must differ from them); department and help
// topic references are checked at the end.
func (d *decoder) decode(c *Config, root *yaml.Node) {
	r := d.object(root, root, "", rootKeys)
	if rn := resolve(root); rn == nil || rn.Kind != yaml.MappingNode {
		return // reported by object; nothing else can be checked
	}
	c.Organisation = d.organisation(r.child("organisation", organisationKeys))
	c.Database = d.database(r.child("database", databaseKeys))
	c.Tickets = d.tickets(r.child("tickets", ticketsKeys))
	listen := r.child("listen", listenKeys)
	c.Listen = d.listen(listen, c.Organisation.MessageIDDomain)
	c.Relay = d.relay(r.child("relay", relayKeys))
	c.Templates = Templates{Dir: r.child("templates", []string{"dir"}).file("dir", true)}
	c.Mailboxes = d.mailboxes(r, "mailboxes", c)
	d.postmaster(listen, c)
	c.Departments = d.departments(r, "departments", c)
	c.Agents = d.agents(r, "agents", c)
	c.HelpTopics = d.helpTopics(r, "help_topics", c)
	c.Filters = d.filters(r, "filters", c)
	c.Ban = d.ban(r, "ban")
	c.AgentMail = d.agentMail(r.child("agent_mail", agentMailKeys))
	c.Log = d.log(r.child("log", logKeys))
	c.Web = d.web(r.child("web", webKeys), c.Listen.HTTP)
	d.resolveRefs(c)
}

// errors returns the problems sorted by position; file-level ones first.
func (d *decoder) errors() *Errors {
	slices.SortStableFunc(d.probs, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	e := &Errors{Problems: d.probs}
	if d.secretProbs > 0 && d.secretProbs == len(d.probs) {
		e.onlySecrets = d.missingSecrets
	}
	return e
}
