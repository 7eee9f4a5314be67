package parse

import (
	"bytes"
	"strings"
)

// bodySelection is the outcome of RFC 8621 (JMAP) section 4.1.4: which
// leaves make up the text body, the HTML body, and which are attachments.
type bodySelection struct {
	text, html, attachments []*entity
}

// selectBody applies the JMAP parseStructure algorithm to the tree. It is the
// published answer to "which parts does a reader show", and it is what the
// reference corpora use, so clients and tests agree on the body.
func selectBody(root *entity) bodySelection {
	var sel bodySelection
	text, html := &sel.text, &sel.html
	if root.isMultipart() {
		sub := strings.TrimPrefix(root.mediaType, "multipart/")
		walkStructure(root.parts, sub, sub == "alternative", text, html, &sel.attachments)
	} else {
		walkStructure([]*entity{root}, "mixed", false, text, html, &sel.attachments)
	}
	return sel
}

// walkStructure is parseStructure from RFC 8621 4.1.4. A nil text or html
// pointer means "no longer collecting that body" for this subtree.
func walkStructure(parts []*entity, mpType string, inAlt bool, text, html, atts *[]*entity) {
	textLen, htmlLen := -1, -1
	if text != nil {
		textLen = len(*text)
	}
	if html != nil {
		htmlLen = len(*html)
	}
	for i, part := range parts {
		if part.isMultipart() {
			sub := strings.TrimPrefix(part.mediaType, "multipart/")
			walkStructure(part.parts, sub, inAlt || sub == "alternative", text, html, atts)
			continue
		}
		mt := part.mediaType
		isText := mt == "text/plain" || mt == "text/html"
		inline := part.disp != "attachment" && (isText || isInlineMedia(mt)) &&
			(i == 0 || (mpType != "related" && (isInlineMedia(mt) || part.filename() == "")))
		if !inline {
			*atts = append(*atts, part)
			continue
		}
		if mpType == "alternative" {
			switch mt {
			case "text/plain":
				if text != nil {
					*text = append(*text, part)
				}
			case "text/html":
				if html != nil {
					*html = append(*html, part)
				}
			default:
				*atts = append(*atts, part)
			}
			continue
		}
		if inAlt {
			if mt == "text/plain" {
				html = nil
			}
			if mt == "text/html" {
				text = nil
			}
		}
		if text != nil {
			*text = append(*text, part)
		}
		if html != nil {
			*html = append(*html, part)
		}
		if (text == nil || html == nil) && isInlineMedia(mt) {
			*atts = append(*atts, part)
		}
	}
	if mpType == "alternative" && text != nil && html != nil {
		if textLen == len(*text) && htmlLen != len(*html) {
			*text = append(*text, (*html)[htmlLen:]...)
		}
		if htmlLen == len(*html) && textLen != len(*text) {
			*html = append(*html, (*text)[textLen:]...)
		}
	}
}

func isInlineMedia(mt string) bool {
	return strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/")
}

// fillBody sets Text, HTML and Attachments from the MIME tree.
func (p *parser) fillBody(m *Message, root *entity) {
	sel := selectBody(root)
	used := map[*entity]bool{}
	var texts []string
	for _, e := range sel.text {
		switch e.mediaType {
		case "text/plain":
			t := p.textOf(e)
			t, files := extractUuencoded(t)
			for _, f := range files {
				m.Attachments = append(m.Attachments, newAttachment(cleanFilename(f.name), guessType(f.name), "", false, f.data))
			}
			texts = append(texts, t)
			used[e] = true
		case "text/html":
			texts = append(texts, htmlToText(p.textOf(e)))
			used[e] = true
		}
	}
	m.Text = joinTexts(texts)
	var htmls []string
	for _, e := range sel.html {
		// A plain part that only the HTML list holds stays an attachment
		// below rather than vanish: HTML shows text/html parts only.
		if e.mediaType == "text/html" {
			htmls = append(htmls, p.textOf(e))
			used[e] = true
		}
	}
	if strings.TrimSpace(m.Text) == "" && len(htmls) > 0 {
		// An empty plain alternative next to a real HTML body: the HTML is
		// what the sender wrote.
		texts = texts[:0]
		for _, h := range htmls {
			texts = append(texts, htmlToText(h))
		}
		m.Text = joinTexts(texts)
	}
	if len(htmls) > 0 {
		m.HTML = sanitizeHTML(strings.Join(htmls, "\n"))
	}
	inBody := map[*entity]bool{}
	for _, e := range append(append([]*entity(nil), sel.text...), sel.html...) {
		inBody[e] = true
	}
	for _, e := range leaves(root) {
		if used[e] {
			continue
		}
		m.Attachments = append(m.Attachments, p.attachmentOf(e, inBody[e]))
	}
}

// leaves lists the leaf entities in document order.
func leaves(e *entity) []*entity {
	if !e.isMultipart() {
		return []*entity{e}
	}
	var out []*entity
	for _, c := range e.parts {
		out = append(out, leaves(c)...)
	}
	return out
}

// textOf returns a text part's body decoded to UTF-8 with LF line endings.
func (p *parser) textOf(e *entity) string {
	if e.textDone {
		return e.text
	}
	e.text, e.textDone = p.decodeText(e), true
	return e.text
}

// MaxText is how much of a text part Parse reads into Text (and HTML): a
// mail of many megabytes of text (a pasted log, a dump) is not a message
// anyone reads whole, and holding it whole several times over is what made
// a 24 MiB mail cost 15 times its size to store. The rest stays in the raw
// mail; a Problem says the text was cut. A part with uuencoded files in it
// is read whole, so that the files come out whole.
const MaxText = 2 << 20

func (p *parser) decodeText(e *entity) string {
	if len(e.body) > MaxText && !bytes.Contains(e.body, []byte("\nbegin ")) {
		// Decode no more of the part than the text can hold: four bytes
		// on the wire for each byte of text is more than any transfer
		// encoding takes. The prefix ends at a line break, so that no
		// encoded unit is cut.
		prefix := e.body
		if len(prefix) > 4*MaxText {
			prefix = prefix[:4*MaxText]
			if i := bytes.LastIndexByte(prefix, '\n'); i > 0 {
				prefix = prefix[:i+1]
			}
		}
		b := p.decodeTransfer(e.header.Get("Content-Transfer-Encoding"), prefix)
		if len(b) > MaxText || len(prefix) < len(e.body) {
			cut := min(MaxText, len(b))
			for cut > 0 && cut < len(b) && b[cut]&0xc0 == 0x80 { // not inside a UTF-8 sequence
				cut--
			}
			if i := bytes.LastIndexByte(b[:cut], '\n'); i > cut/2 {
				cut = i + 1
			}
			b = b[:cut]
			p.problem("%s part of %d bytes: its text is cut at %d MiB (the whole part is in the raw mail)",
				e.mediaType, len(e.body), MaxText>>20)
		}
		return p.charsetText(e, b)
	}
	return p.charsetText(e, p.decodedBody(e))
}

// charsetText is b, the transfer-decoded bytes of text part e, as UTF-8.
func (p *parser) charsetText(e *entity, b []byte) string {
	cs := e.params["charset"]
	if cs == "" && e.mediaType == "text/html" {
		cs = htmlMetaCharset(b)
	}
	t, err := decodeCharset(cs, b)
	if err != nil {
		p.problem("%v: text decoded by best guess", err)
	}
	if strings.Contains(t, "\r") {
		t = strings.ReplaceAll(t, "\r\n", "\n")
	}
	return t
}

// joinTexts concatenates body parts, putting a line break between two parts
// when the first does not end with one.
func joinTexts(texts []string) string {
	if len(texts) == 1 {
		return texts[0]
	}
	var b strings.Builder
	for i, t := range texts {
		if i > 0 && b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") && t != "" {
			b.WriteByte('\n')
		}
		b.WriteString(t)
	}
	return b.String()
}
