package parse

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText renders an HTML body as readable plain text: paragraphs and
// line breaks kept, lists bulleted or numbered, links as "text (url)",
// blockquotes prefixed with "> " (so quoted history still looks quoted),
// script, style and head content dropped.
//
// It streams tokens rather than building a tree: mail HTML is often broken,
// and a tokenizer has no nesting depth to blow up.
func htmlToText(src string) string {
	w := &textWriter{}
	z := html.NewTokenizer(strings.NewReader(src))
	skip := 0       // inside script/style/... elements
	inHead := false // inside <head>, until </head> or <body>
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.TextToken:
			if skip == 0 && !inHead {
				w.text(tok.Data)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			switch tok.DataAtom {
			case atom.Script, atom.Style, atom.Template, atom.Svg, atom.Object, atom.Iframe, atom.Noscript:
				if tt == html.StartTagToken {
					skip++
				}
				continue
			case atom.Head:
				inHead = tt == html.StartTagToken
				continue
			case atom.Body:
				inHead = false
			}
			if skip == 0 && !inHead {
				w.start(tok)
			}
		case html.EndTagToken:
			switch tok.DataAtom {
			case atom.Script, atom.Style, atom.Template, atom.Svg, atom.Object, atom.Iframe, atom.Noscript:
				if skip > 0 {
					skip--
				}
				continue
			case atom.Head:
				inHead = false
				continue
			}
			if skip == 0 && !inHead {
				w.end(tok)
			}
		}
	}
	return w.result()
}

// paragraph elements get a blank line around them, other blocks a line break.
var paragraphs = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Blockquote: true, atom.Pre: true, atom.Table: true, atom.Dl: true,
}

var blocks = map[atom.Atom]bool{
	atom.Div: true, atom.Address: true, atom.Article: true, atom.Aside: true, atom.Center: true,
	atom.Dd: true, atom.Dt: true, atom.Fieldset: true, atom.Figure: true, atom.Figcaption: true,
	atom.Footer: true, atom.Form: true, atom.Header: true, atom.Main: true, atom.Nav: true,
	atom.Section: true, atom.Tr: true, atom.Caption: true, atom.Ul: true, atom.Ol: true, atom.Li: true,
}

func (w *textWriter) start(t html.Token) {
	a := t.DataAtom
	switch {
	case a == atom.Br:
		w.newline()
		return
	case a == atom.Hr:
		w.block(1)
		// Outlook's own text version marks quoted history with this line.
		w.word("________________________________")
		w.block(1)
		return
	case a == atom.Img:
		if alt := strings.TrimSpace(attr(t, "alt")); alt != "" {
			w.word("[" + alt + "]")
		}
		return
	case a == atom.A:
		if len(w.links) < maxIndent {
			w.links = append(w.links, openLink{href: strings.TrimSpace(attr(t, "href")), start: w.b.Len()})
		}
		return
	case a == atom.Td || a == atom.Th:
		if w.cells > 0 {
			w.space = true
		}
		w.cells++
		return
	}
	if paragraphs[a] {
		w.block(2)
	} else if blocks[a] {
		w.block(1)
	}
	switch a {
	case atom.Blockquote:
		w.quote++
	case atom.Pre:
		w.pre++
	case atom.Tr:
		w.cells = 0
	case atom.Ul, atom.Ol:
		if len(w.lists) == 0 {
			w.block(2)
		}
		w.lists = append(w.lists, listLevel{ordered: a == atom.Ol})
	case atom.Li:
		bullet := "- "
		if n := len(w.lists); n > 0 {
			l := &w.lists[n-1]
			l.n++
			if l.ordered {
				bullet = strconv.Itoa(l.n) + ". "
			}
			bullet = strings.Repeat("  ", min(n-1, maxIndent)) + bullet
		}
		w.word(bullet)
		w.space = false
	}
}

func (w *textWriter) end(t html.Token) {
	a := t.DataAtom
	switch a {
	case atom.A:
		if n := len(w.links); n > 0 {
			l := w.links[n-1]
			w.links = w.links[:n-1]
			w.linkTarget(l)
		}
		return
	case atom.Blockquote:
		w.block(2)
		if w.quote > 0 {
			w.quote--
		}
		return
	case atom.Pre:
		if w.pre > 0 {
			w.pre--
		}
	case atom.Ul, atom.Ol:
		if n := len(w.lists); n > 0 {
			w.lists = w.lists[:n-1]
		}
		if len(w.lists) == 0 {
			w.block(2)
			return
		}
	}
	if paragraphs[a] {
		w.block(2)
	} else if blocks[a] {
		w.block(1)
	}
}

// maxLinkText is the longest link text compared with its URL.
const maxLinkText = 2048

// linkTarget appends " (url)" after a link's text unless it adds nothing.
func (w *textWriter) linkTarget(l openLink) {
	href := l.href
	lower := strings.ToLower(href)
	if href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(lower, "javascript:") || strings.HasPrefix(lower, "cid:") {
		return
	}
	text := ""
	if n := w.b.Len() - l.start; n > maxLinkText {
		text = "\x00" // too long to be the URL itself: show the URL
	} else if n > 0 {
		text = strings.TrimSpace(w.b.String()[l.start:])
	}
	bare := strings.TrimPrefix(strings.TrimPrefix(href, "mailto:"), "tel:")
	if text == "" {
		w.space = true
		w.word(href)
		return
	}
	if text == href || text == bare || strings.TrimSuffix(text, "/") == strings.TrimSuffix(href, "/") {
		return
	}
	w.space = true
	w.word("(" + href + ")")
}

func attr(t html.Token, name string) string {
	for _, a := range t.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
