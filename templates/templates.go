// Package templates holds postdesk's notice templates: the defaults embedded
// in the binary, overrides from the templates directory of the
// configuration, and per-department overrides.
//
// Each notice has three files: NAME.subject.tmpl and NAME.txt.tmpl
// (text/template) and NAME.html.tmpl (html/template). partials.txt.tmpl and
// partials.html.tmpl hold the {{define}} blocks the notices share (the
// customer header, the agent command footer). An override directory may
// replace any notice file and holds nothing else; its partials files are
// read after the built-in ones, so they need only the blocks they change.
//
// Load parses every template and executes it against sample data, once with
// every field set and once with every optional field empty, so that a syntax
// error or an unknown field fails at start-up (and in `postdesk config
// check`) with its file name and line, never when a notice is sent.
//
// Every template sees Data. Ticket, Customer, Recipient, Actor and Org are
// set (but see the last point), and:
//   - customer_ack, customer_reply, agent_new_ticket, agent_new_message and
//     agent_note always have .Message (see MessageAlwaysSet);
//   - customer_resolved and customer_closed have .Message when the agent
//     wrote a reply in the same change; agent_resolved, agent_assigned and
//     agent_transfer when the change came with a message or note;
//   - agent_transfer has .Note (the transfer note) and .Previous (the old
//     department); agent_assigned has .Previous (the old assignee);
//   - agent notices have .Changes, every field the change touched;
//   - agent_command_error and agent_unauthenticated have .Error and .Original;
//     their .Ticket and .Customer are empty when the mail named no ticket;
//   - agent_sign_in_link has .Link (a one-time sign-in URL for the web
//     console) and no .Ticket.
//
// Functions: date (format a time, optional Go layout), quote (prefix every
// line with "> "), indent N (prefix every line with N spaces), bare (a
// subject without Re:/Fwd: prefixes), join (strings.Join), separator (the
// "reply above this line" marker that postdesk's reply trimmer looks for).
package templates

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	texttemplate "text/template"
)

// Notice names.
const (
	CustomerAck          = "customer_ack"
	CustomerReply        = "customer_reply"
	CustomerResolved     = "customer_resolved"
	CustomerClosed       = "customer_closed"
	AgentNewTicket       = "agent_new_ticket"
	AgentNewMessage      = "agent_new_message"
	AgentAssigned        = "agent_assigned"
	AgentTransfer        = "agent_transfer"
	AgentNote            = "agent_note"
	AgentResolved        = "agent_resolved"
	AgentCommandError    = "agent_command_error"
	AgentUnauthenticated = "agent_unauthenticated"
	AgentSignInLink      = "agent_sign_in_link"
)

// Names lists every notice, customer notices first.
func Names() []string {
	return []string{CustomerAck, CustomerReply, CustomerResolved, CustomerClosed,
		AgentNewTicket, AgentNewMessage, AgentAssigned, AgentTransfer, AgentNote, AgentResolved,
		AgentCommandError, AgentUnauthenticated, AgentSignInLink}
}

// IsCustomerNotice reports whether name is addressed to customers and
// collaborators rather than agents.
func IsCustomerNotice(name string) bool { return strings.HasPrefix(name, "customer_") }

// Part suffixes of a notice's files.
const (
	subjectSuffix = ".subject.tmpl"
	textSuffix    = ".txt.tmpl"
	htmlSuffix    = ".html.tmpl"
	textPartials  = "partials.txt.tmpl"
	htmlPartials  = "partials.html.tmpl"
)

//go:embed defaults/*.tmpl
var defaults embed.FS

// Rendered is one notice ready to be put into a mail.
type Rendered struct {
	Subject string // one line
	Text    string
	HTML    string
}

// Set is a loaded and checked collection of notice templates. It is safe
// for concurrent use.
type Set struct {
	base  *bundle
	depts map[string]*bundle // key: lower-case department name
}

// bundle is one complete, compiled set of notices.
type bundle struct {
	subject map[string]*texttemplate.Template
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
}

// source is a template file's text and where it came from, for messages.
type source struct {
	text   string
	origin string
}

// sources maps a file name to its layers: one for a notice file (an
// override replaces it), several for a partials file (an override's
// {{define}}s are parsed after the built-in ones, so it only needs to hold
// the blocks it changes).
type sources map[string][]source

// Load parses the default templates, then the files of overrideDir (may be
// empty) over them, then for each department the files of its directory over
// those. departmentDirs is keyed by department name, in any case. Every
// template is executed against sample data before Load returns.
func Load(overrideDir string, departmentDirs map[string]string) (*Set, error) {
	srcs, err := defaultSources()
	if err != nil {
		return nil, err
	}
	if overrideDir != "" {
		if srcs, err = overlay(srcs, overrideDir); err != nil {
			return nil, err
		}
	}
	s := &Set{depts: map[string]*bundle{}}
	if s.base, err = compile(srcs); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(departmentDirs))
	for name := range departmentDirs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		dir := departmentDirs[name]
		if dir == "" {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(name))
		if _, dup := s.depts[key]; dup {
			return nil, fmt.Errorf("templates: department %q is listed twice", name)
		}
		dsrcs, err := overlay(srcs, dir)
		if err != nil {
			return nil, fmt.Errorf("templates: department %s: %w", name, err)
		}
		if s.depts[key], err = compile(dsrcs); err != nil {
			return nil, fmt.Errorf("templates: department %s: %w", name, err)
		}
	}
	return s, nil
}

// Default returns the embedded templates alone.
func Default() (*Set, error) { return Load("", nil) }

// Render renders notice name for a ticket of department (any case; "" or a
// department without its own templates uses the common ones).
func (s *Set) Render(name, department string, data Data) (Rendered, error) {
	b := s.base
	if d, ok := s.depts[strings.ToLower(strings.TrimSpace(department))]; ok {
		b = d
	}
	return b.render(name, data)
}

// RenderSubject renders only the subject of notice name, as Render would:
// a notice's subject is known when it is queued, its body when it is sent.
func (s *Set) RenderSubject(name, department string, data Data) (string, error) {
	b := s.base
	if d, ok := s.depts[strings.ToLower(strings.TrimSpace(department))]; ok {
		b = d
	}
	st, ok := b.subject[name]
	if !ok {
		return "", fmt.Errorf("templates: unknown notice %q", name)
	}
	var sb strings.Builder
	if err := st.Execute(&sb, data); err != nil {
		return "", fmt.Errorf("templates: %s subject: %w", name, err)
	}
	return oneLine(sb.String()), nil
}

// oneLine makes a rendered subject one header line: newlines a template
// leaves in would break the header, and runs of spaces look like mistakes.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (b *bundle) render(name string, data Data) (Rendered, error) {
	st, ok := b.subject[name]
	if !ok {
		return Rendered{}, fmt.Errorf("templates: unknown notice %q", name)
	}
	var r Rendered
	var sb, tb, hb strings.Builder
	if err := st.Execute(&sb, data); err != nil {
		return r, fmt.Errorf("templates: %s subject: %w", name, err)
	}
	if err := b.text[name].Execute(&tb, data); err != nil {
		return r, fmt.Errorf("templates: %s text: %w", name, err)
	}
	if err := b.html[name].Execute(&hb, data); err != nil {
		return r, fmt.Errorf("templates: %s html: %w", name, err)
	}
	r.Subject = oneLine(sb.String())
	r.Text = strings.TrimLeft(tb.String(), "\n")
	r.HTML = hb.String()
	return r, nil
}

// knownFiles lists every file name a templates directory may hold.
func knownFiles() map[string]bool {
	known := map[string]bool{textPartials: true, htmlPartials: true}
	for _, n := range Names() {
		known[n+subjectSuffix] = true
		known[n+textSuffix] = true
		known[n+htmlSuffix] = true
	}
	return known
}

func defaultSources() (sources, error) {
	srcs := sources{}
	for name := range knownFiles() {
		b, err := fs.ReadFile(defaults, "defaults/"+name)
		if err != nil {
			return nil, fmt.Errorf("templates: built-in %s: %w", name, err)
		}
		srcs[name] = []source{{text: string(b), origin: "built-in " + name}}
	}
	return srcs, nil
}

// overlay returns srcs with the files of dir in place of the built-in ones.
func overlay(srcs sources, dir string) (sources, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	out := make(sources, len(srcs))
	for k, v := range srcs {
		out[k] = v
	}
	known := knownFiles()
	var unknown []string
	for _, e := range entries {
		name := e.Name()
		// Dot files are editor and OS litter (.swp, .DS_Store), not templates.
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if !known[name] {
			unknown = append(unknown, name)
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		src := source{text: string(b), origin: path}
		if name == textPartials || name == htmlPartials {
			out[name] = append(append([]source(nil), out[name]...), src)
		} else {
			out[name] = []source{src}
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("templates: %s: unknown template %s (known names are NOTICE.subject.tmpl, NOTICE.txt.tmpl, NOTICE.html.tmpl and partials.txt.tmpl, partials.html.tmpl, NOTICE one of %s)",
			dir, strings.Join(unknown, ", "), strings.Join(Names(), ", "))
	}
	return out, nil
}

// compile parses every notice and checks it against the sample data.
func compile(srcs sources) (*bundle, error) {
	b := &bundle{
		subject: map[string]*texttemplate.Template{},
		text:    map[string]*texttemplate.Template{},
		html:    map[string]*htmltemplate.Template{},
	}
	var errs []error
	for _, name := range Names() {
		var err error
		if b.subject[name], err = parseText(srcs, name+subjectSuffix); err != nil {
			errs = append(errs, err)
		}
		if b.text[name], err = parseText(srcs, name+textSuffix); err != nil {
			errs = append(errs, err)
		}
		if b.html[name], err = parseHTML(srcs, name+htmlSuffix); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, name := range Names() {
		for _, d := range []Data{Sample(name), sparse(name)} {
			if _, err := b.render(name, d); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return b, errors.Join(errs...)
}

// parseText parses a text template together with the text partials. The
// template is named after the file it came from so that errors point there.
func parseText(srcs sources, file string) (*texttemplate.Template, error) {
	main := srcs[file][0]
	t := texttemplate.New(main.origin).Funcs(textFuncs()).Option("missingkey=error")
	// Partials first, so that a notice's own {{define}} wins over them.
	for _, p := range srcs[textPartials] {
		if _, err := t.New(p.origin).Parse(p.text); err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
	}
	if _, err := t.Parse(main.text); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return t, nil
}

func parseHTML(srcs sources, file string) (*htmltemplate.Template, error) {
	main := srcs[file][0]
	t := htmltemplate.New(main.origin).Funcs(htmlFuncs()).Option("missingkey=error")
	for _, p := range srcs[htmlPartials] {
		if _, err := t.New(p.origin).Parse(p.text); err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
	}
	if _, err := t.Parse(main.text); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return t, nil
}
