package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/postdesk/postdesk/ticket"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageNames lists every page; each is templates/NAME.html over layout.html.
var pageNames = []string{"signin", "link", "home", "ticket", "error"}

// asset is a static file served at a URL with a hash of its content, so
// that it may be cached for ever.
type asset struct {
	body []byte
	ct   string
}

type pages struct {
	tmpl   map[string]*template.Template
	assets map[string]asset  // by hashed file name
	urls   map[string]string // file name → /static/hashed name
}

func parsePages() (pages, error) {
	p := pages{tmpl: map[string]*template.Template{}, assets: map[string]asset{}, urls: map[string]string{}}
	entries, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		return p, fmt.Errorf("web: static files: %w", err)
	}
	for _, e := range entries {
		body, err := staticFiles.ReadFile("static/" + e.Name())
		if err != nil {
			return p, fmt.Errorf("web: static files: %w", err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := "application/octet-stream"
		switch ext {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		}
		p.assets[hashed] = asset{body: body, ct: ct}
		p.urls[e.Name()] = "/static/" + hashed
	}
	funcs := template.FuncMap{"asset": func(name string) (string, error) {
		if u, ok := p.urls[name]; ok {
			return u, nil
		}
		return "", fmt.Errorf("no static file %q", name)
	}, "statuses": func() []ticket.Status {
		return []ticket.Status{ticket.StatusOpen, ticket.StatusResolved, ticket.StatusClosed}
	}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return p, fmt.Errorf("web: page %s: %w", name, err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// page is what every page template sees.
type page struct {
	Title   string
	Org     string
	Agent   *ticket.Agent // nil when nobody is signed in
	Notice  string        // a message to the user, e.g. that a link is on its way
	Error   string        // what went wrong with the form
	Login   string        // the username or address typed, shown again
	Token   string        // the sign-in link's token (link page)
	Message string        // error page: what happened
	Queue   *queuePage    // landing page: the agent's queues
	Ticket  *ticketView   // a ticket's page
}

// render writes page name with status code, rendered to a buffer first so
// that a template error is a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, code int, name string, p page) {
	p.Org = s.opts.OrgName
	var b bytes.Buffer
	if err := s.pages.tmpl[name].Execute(&b, p); err != nil {
		s.opts.Log.Error("web: render", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, code int, msg string) {
	s.render(w, code, "error", page{Title: http.StatusText(code), Message: msg})
}

// static serves the files of static/ at their hashed names.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	a, ok := s.pages.assets[r.PathValue("file")]
	if !ok {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ct)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}
