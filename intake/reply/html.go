package reply

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// TrimHTML returns the new text of an HTML-only reply as plain text. Quote
// containers that clients mark (Gmail's gmail_quote, Outlook's
// divRplyFwdMsg and border-top "From:" blocks, Yahoo's yahoo_quoted, <hr>
// reply separators) end the reply; blockquotes become "> " quotes; the rest
// is converted to text and passed through Trim, which also handles the
// clients that mark nothing (Outlook 2010, mail.ru, Yandex, Apple Mail,
// Thunderbird).
func TrimHTML(body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		// html.Parse fails only when its reader does; a strings.Reader
		// does not. Treat the input as text rather than lose it.
		visible, _ := Trim(body)
		return visible
	}
	visible, stopped := renderAndTrim(doc, true)
	if visible == "" && stopped {
		// A forward without a comment: the "quote" is the content, as
		// Trim treats it in plain text.
		visible, _ = renderAndTrim(doc, false)
	}
	return visible
}

// renderAndTrim converts doc to text, stopping at quote containers when
// stopAtQuote is set, and trims it. It reports whether a quote container or
// a separator could have cut something.
func renderAndTrim(doc *html.Node, stopAtQuote bool) (string, bool) {
	r := &htmlRenderer{stopAtQuote: stopAtQuote}
	r.walk(doc)
	r.flush()
	visible, _ := Trim(r.output(stopAtQuote))
	return visible, r.stopped || r.separators > 0
}

// renderedLine is one line of rendered text, or the place of an <hr> or a
// border-top box: a reply separator if a header line ("From: …") follows.
type renderedLine struct {
	text      string
	separator bool
}

// output joins the rendered lines. With cut set it drops everything from the
// first separator that a header line follows.
func (r *htmlRenderer) output(cut bool) string {
	// next[i] is the first line at or after i that has content.
	next := make([]int, len(r.lines)+1)
	next[len(r.lines)] = len(r.lines)
	for i := len(r.lines) - 1; i >= 0; i-- {
		if l := r.lines[i]; l.separator || strings.TrimSpace(l.text) == "" {
			next[i] = next[i+1]
		} else {
			next[i] = i
		}
	}
	out := make([]string, 0, len(r.lines))
	for i, l := range r.lines {
		if !l.separator {
			out = append(out, l.text)
			continue
		}
		if j := next[i]; cut && j < len(r.lines) {
			if t := strings.TrimSpace(r.lines[j].text); isHeader(t) || isForwardMarker(t) {
				break
			}
		}
		out = append(out, "")
	}
	return strings.Join(out, "\n")
}

// htmlRenderer converts a parsed document to lines of text.
type htmlRenderer struct {
	lines       []renderedLine
	cur         strings.Builder
	depth       int  // blockquote nesting
	pre         int  // inside <pre>
	stopAtQuote bool // end at the first quote container
	stopped     bool // a quote container was reached: ignore the rest
	nesting     int  // element depth, bounded against hostile input
	separators  int  // <hr>s and border-top boxes seen
}

// maxNesting bounds the element depth rendered; deeper content is dropped
// rather than risk unbounded recursion on hostile markup.
const maxNesting = 512

func (r *htmlRenderer) walk(n *html.Node) {
	if r.stopped {
		return
	}
	switch n.Type {
	case html.TextNode:
		r.text(n.Data)
		return
	case html.ElementNode:
		if r.nesting >= maxNesting {
			return
		}
		r.nesting++
		defer func() { r.nesting-- }()
		if r.element(n) {
			return
		}
	case html.CommentNode, html.DoctypeNode:
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.walk(c)
	}
}

// element renders n and reports whether it took care of the children.
func (r *htmlRenderer) element(n *html.Node) bool {
	switch {
	case r.stopAtQuote && endsReply(n):
		r.stopped = true
		return true
	case skipped(n):
		return true
	}
	switch n.DataAtom {
	case atom.Br:
		r.flush()
		return true
	case atom.Hr:
		r.breakLine()
		r.separator()
		return true
	case atom.Blockquote:
		r.breakLine()
		r.depth++
		r.children(n)
		r.breakLine()
		r.depth--
		return true
	case atom.Pre:
		r.breakLine()
		r.pre++
		r.children(n)
		r.breakLine()
		r.pre--
		return true
	case atom.A:
		r.children(n)
		if href := attr(n, "href"); isWebLink(href) && !strings.Contains(textOf(n), href) {
			r.text(" <" + href + ">")
		}
		return true
	case atom.Td, atom.Th:
		r.children(n)
		r.text(" ")
		return true
	}
	if !blockElements[n.DataAtom] {
		return false
	}
	r.breakLine()
	if borderTop(n) {
		r.separator()
	}
	r.children(n)
	r.breakLine()
	// Word's MsoNormal paragraphs have no margin: no blank line after them.
	if paragraphElements[n.DataAtom] && !strings.Contains(attr(n, "class"), "MsoNormal") {
		r.flush()
	}
	return true
}

func (r *htmlRenderer) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.walk(c)
	}
}

// text appends character data, collapsing whitespace outside <pre>.
func (r *htmlRenderer) text(s string) {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	if r.pre > 0 {
		parts := strings.Split(s, "\n")
		for i, p := range parts {
			if i > 0 {
				r.flush()
			}
			r.cur.WriteString(p)
		}
		return
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		if s != "" && r.cur.Len() > 0 {
			r.cur.WriteByte(' ')
		}
		return
	}
	if r.cur.Len() > 0 && startsWithSpace(s) {
		r.cur.WriteByte(' ')
	}
	r.cur.WriteString(strings.Join(fields, " "))
	if endsWithSpace(s) {
		r.cur.WriteByte(' ')
	}
}

// breakLine ends the current line unless it is empty.
func (r *htmlRenderer) breakLine() {
	if strings.TrimSpace(r.cur.String()) != "" {
		r.flush()
	}
	r.cur.Reset()
}

// flush ends the current line, even an empty one.
func (r *htmlRenderer) flush() {
	l := strings.TrimSpace(r.cur.String())
	if r.pre > 0 {
		l = strings.TrimRight(r.cur.String(), " \t")
	}
	r.cur.Reset()
	if r.depth > 0 {
		l = strings.TrimRight(strings.Repeat("> ", r.depth)+l, " ")
	}
	r.lines = append(r.lines, renderedLine{text: l})
}

func (r *htmlRenderer) separator() {
	r.lines = append(r.lines, renderedLine{separator: true})
	r.separators++
}

var blockElements = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Li: true, atom.Ul: true, atom.Ol: true, atom.Tr: true,
	atom.Table: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Section: true,
	atom.Article: true, atom.Header: true, atom.Footer: true, atom.Center: true,
	atom.Address: true, atom.Form: true, atom.Fieldset: true, atom.Body: true, atom.Html: true,
}

// paragraphElements are followed by a blank line.
var paragraphElements = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Table: true, atom.Ul: true, atom.Ol: true,
}

// endsReply reports quote containers: everything from them on is history.
func endsReply(n *html.Node) bool {
	id := attr(n, "id")
	for _, p := range []string{"divRplyFwdMsg", "x_divRplyFwdMsg", "appendonsend", "yahoo_quoted", "OLK_SRC_BODY_SECTION", "stopSpelling", "zwchr"} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	for _, c := range strings.Fields(attr(n, "class")) {
		switch c {
		case "gmail_quote", "gmail_quote_container", "yahoo_quoted", "ydp_quoted", "x_gmail_quote", "protonmail_quote":
			return true
		}
	}
	return false
}

// skipped reports elements whose content is never reply text: document
// head, scripts, styles, and signature blocks clients mark as such.
func skipped(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Head, atom.Style, atom.Script, atom.Title, atom.Noscript, atom.Template, atom.Img:
		return true
	}
	if attr(n, "data-signatureblock") == "true" {
		return true
	}
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == "gmail_signature" || c == "moz-signature" {
			return true
		}
	}
	return false
}

// borderTop reports Outlook's and Windows Mail's header box: a block with a
// top border, above "From: …" when it is a reply separator.
func borderTop(n *html.Node) bool {
	s := strings.ToLower(attr(n, "style"))
	return strings.Contains(s, "border-top")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var visit func(*html.Node)
	visit = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(n)
	return b.String()
}

func isWebLink(href string) bool {
	h := strings.ToLower(href)
	return strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://")
}

func startsWithSpace(s string) bool { return s != "" && strings.TrimLeft(s, " \t\r\n\f") != s }
func endsWithSpace(s string) bool   { return s != "" && strings.TrimRight(s, " \t\r\n\f") != s }
