package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDefaultsCarryWhatReadersNeed(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		r, err := set.Render(name, "", Sample(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == AgentSignInLink {
			// About no ticket, and not to be answered: the link is all it carries.
			if !strings.Contains(r.Text, Sample(name).Link) || !strings.Contains(r.HTML, Sample(name).Link) {
				t.Errorf("%s lacks the link:\n%s", name, r.Text)
			}
			continue
		}
		// The reply trimmer cuts at the separator: it opens every notice.
		if !strings.HasPrefix(r.Text, ticket.ReplySeparator+"\n") {
			t.Errorf("%s text does not start with the reply separator:\n%s", name, r.Text)
		}
		if !strings.Contains(r.HTML, ticket.ReplySeparator) {
			t.Errorf("%s html lacks the reply separator", name)
		}
		if !strings.Contains(r.Subject, "[#123456]") {
			t.Errorf("%s subject %q lacks the ticket token", name, r.Subject)
		}
		if IsCustomerNotice(name) {
			if strings.Contains(r.Text, "#transfer") || strings.Contains(r.Text, Sample(name).Note) {
				t.Errorf("%s shows agent-only text to a customer:\n%s", name, r.Text)
			}
			continue
		}
		for _, cmd := range []string{"#note", "#transfer DEPARTMENT", "#assign AGENT", "#status open|resolved|closed",
			"#resolve", "#close", "#reopen", "#priority low|normal|high|emergency", "#cc ADDRESS"} {
			if !strings.Contains(r.Text, cmd) || !strings.Contains(r.HTML, cmd) {
				t.Errorf("%s footer lacks %q", name, cmd)
			}
		}
	}
	ack, _ := set.Render(CustomerAck, "", Sample(CustomerAck))
	if !strings.Contains(ack.Text, "[#123456]") || !strings.Contains(ack.HTML, "[#123456]") {
		t.Errorf("the acknowledgement body lacks the token:\n%s", ack.Text)
	}
}

func TestHTMLIsEscaped(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	d := Sample(CustomerReply)
	d.Message.Text = `<script>alert("x")</script> & <b>bold</b>`
	d.Ticket.Subject = `<img src=x onerror=alert(1)>`
	r, err := set.Render(CustomerReply, "", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || strings.Contains(r.HTML, "<img") {
		t.Fatalf("customer text reached the HTML unescaped:\n%s", r.HTML)
	}
	if !strings.Contains(r.HTML, "&lt;script&gt;") {
		t.Fatalf("escaped text missing:\n%s", r.HTML)
	}
	if !strings.Contains(r.Text, `<script>alert("x")</script>`) {
		t.Fatalf("plain text was altered:\n%s", r.Text)
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"customer_reply.subject.tmpl": "Re:\n  {{.Ticket.Token}}\r\n{{.Ticket.Subject}}\n\n",
	})
	set, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Sample(CustomerReply)
	d.Ticket.Subject = "two\nlines"
	r, err := set.Render(CustomerReply, "", d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Re: [#123456] two lines" {
		t.Fatalf("subject = %q", r.Subject)
	}
	only, err := set.RenderSubject(CustomerReply, "", d)
	if err != nil || only != r.Subject {
		t.Fatalf("RenderSubject = %q, %v; Render's subject is %q", only, err, r.Subject)
	}
}

// The subject a notice is queued with is the one its full rendering has.
func TestRenderSubjectMatchesRender(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		d := Sample(name)
		r, err := set.Render(name, "", d)
		if err != nil {
			t.Fatal(err)
		}
		subject, err := set.RenderSubject(name, "", d)
		if err != nil {
			t.Fatal(err)
		}
		if subject != r.Subject || subject == "" {
			t.Errorf("%s: RenderSubject %q, Render %q", name, subject, r.Subject)
		}
	}
	if _, err := set.RenderSubject("no_such_notice", "", Data{}); err == nil {
		t.Error("an unknown notice rendered a subject")
	}
}

func TestOverrides(t *testing.T) {
	common := writeFiles(t, map[string]string{
		"customer_ack.subject.tmpl":  "Received: {{.Ticket.Token}} {{.Ticket.Subject}}",
		"partials.txt.tmpl":          `{{define "customer_header"}}{{separator}}` + "\nCOMMON HEADER\n{{end}}",
		".customer_ack.txt.tmpl.swp": "{{ broken",
	})
	sysadmins := writeFiles(t, map[string]string{
		"customer_ack.subject.tmpl": "Sysadmins got {{.Ticket.Token}}",
	})
	set, err := Load(common, map[string]string{"System Administrators": sysadmins, "Help Desk": ""})
	if err != nil {
		t.Fatal(err)
	}
	d := Sample(CustomerAck)
	for _, tc := range []struct{ dept, subject string }{
		{"", "Received: [#123456] entire mobile online banking is down"},
		{"Help Desk", "Received: [#123456] entire mobile online banking is down"},
		{"system administrators", "Sysadmins got [#123456]"},
		{"SYSTEM ADMINISTRATORS", "Sysadmins got [#123456]"},
	} {
		r, err := set.Render(CustomerAck, tc.dept, d)
		if err != nil {
			t.Fatal(err)
		}
		if r.Subject != tc.subject {
			t.Errorf("department %q: subject %q, want %q", tc.dept, r.Subject, tc.subject)
		}
		// The common partials apply to the department's set too.
		if !strings.Contains(r.Text, "COMMON HEADER") {
			t.Errorf("department %q: common partial override not applied:\n%s", tc.dept, r.Text)
		}
	}
	// Files not overridden keep the built-in text.
	r, _ := set.Render(AgentNote, "System Administrators", Sample(AgentNote))
	def, _ := Default()
	want, _ := def.Render(AgentNote, "", Sample(AgentNote))
	if r != want {
		t.Error("an override changed a notice it does not name")
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // all must appear in the error
	}{
		{"syntax error", map[string]string{"customer_reply.txt.tmpl": "line one\n{{if .Ticket.Number}}\nno end\n"},
			[]string{"customer_reply.txt.tmpl:", "unexpected EOF"}},
		{"unknown field", map[string]string{"agent_note.html.tmpl": "<p>ok</p>\n<p>{{.Ticket.Colour}}</p>\n"},
			[]string{"agent_note.html.tmpl:2:", "Colour"}},
		{"unknown field only in an else branch", map[string]string{
			"customer_resolved.txt.tmpl": "{{if .Message}}{{.Message.Text}}{{else}}\n{{.Nope}}{{end}}"},
			[]string{"customer_resolved.txt.tmpl:2:", "Nope"}},
		{"optional message used unguarded", map[string]string{"agent_assigned.txt.tmpl": "{{.Message.Text}}"},
			[]string{"agent_assigned.txt.tmpl:1:", "nil pointer"}},
		{"unknown function", map[string]string{"agent_transfer.subject.tmpl": "{{shout .Ticket.Subject}}"},
			[]string{"agent_transfer.subject.tmpl:1:", `"shout" not defined`}},
		{"unknown file", map[string]string{"foo.txt.tmpl": "x", "customer_ack.text.tmpl": "y"},
			[]string{"unknown template", "foo.txt.tmpl", "customer_ack.text.tmpl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			_, err := Load(dir, nil)
			if err == nil {
				t.Fatal("Load accepted a broken template")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the directory", err)
			}
			// The same file in a department directory fails the same way.
			if _, err := Load("", map[string]string{"Help Desk": dir}); err == nil || !strings.Contains(err.Error(), "Help Desk") {
				t.Errorf("department load: %v", err)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("a missing override directory was accepted")
	}
	if _, err := Load("", map[string]string{"help desk": t.TempDir(), "Help Desk": t.TempDir()}); err == nil {
		t.Error("a department listed twice was accepted")
	}
}

func TestRenderUnknownNotice(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Render("customer_spam", "", Sample("customer_spam")); err == nil {
		t.Fatal("rendered an unknown notice")
	}
}

func TestHelpers(t *testing.T) {
	if got := quote("a\n\nb\n"); got != "> a\n>\n> b" {
		t.Errorf("quote = %q", got)
	}
	if got := indent(2, "a\r\n\nb"); got != "  a\n\n  b" {
		t.Errorf("indent = %q", got)
	}
	for in, want := range map[string]string{
		"Re: RE: Fwd: hello": "hello", "AW: WG: Hallo": "Hallo", "Re[2]: x": "x", "Regarding you": "Regarding you",
		"  plain ": "plain",
	} {
		if got := bare(in); got != want {
			t.Errorf("bare(%q) = %q, want %q", in, got, want)
		}
	}
	tm := Sample(CustomerAck).Ticket.Created
	if got, _ := date(tm); got != "Fri, 14 Mar 2025 09:26 UTC" {
		t.Errorf("date = %q", got)
	}
	if got, _ := date("2006-01-02", tm); got != "2025-03-14" {
		t.Errorf("date with layout = %q", got)
	}
	if _, err := date("x"); err == nil {
		t.Error("date accepted a string")
	}
}
