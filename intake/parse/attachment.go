package parse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
	"unicode"
)

// filename is the decoded name of a part: Content-Disposition filename, else
// Content-Type name.
func (e *entity) filename() string {
	name := e.dparams["filename"]
	if name == "" {
		name = e.params["name"]
	}
	if name == "" {
		return ""
	}
	if d, err := decodeWords(name); err == nil {
		name = d
	}
	return cleanFilename(name)
}

// cleanFilename keeps the last path element and drops control characters:
// a name like "..\..\boot.ini" must not travel further as a path.
func cleanFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.TrimSpace(name)
	if name == "." || name == "/" || name == ".." {
		return ""
	}
	return name
}

// attachmentOf builds the Attachment for a non-body leaf.
func (p *parser) attachmentOf(e *entity, inBody bool) Attachment {
	var data []byte
	if identityEncoding(e.header.Get("Content-Transfer-Encoding")) {
		data = bytes.Clone(p.wireBody(e))
	} else {
		data = p.decodedBody(e)
	}
	name := e.filename()
	if name == "" && (e.mediaType == "message/rfc822" || e.mediaType == "message/global") {
		name = embeddedMessageName(data)
	}
	ct := e.mediaType
	if cs := e.params["charset"]; isToken(cs) && strings.HasPrefix(ct, "text/") {
		ct += "; charset=" + strings.ToLower(cs)
	}
	cid := strings.TrimSpace(e.header.Get("Content-ID"))
	if ids := extractIDs(cid); len(ids) > 0 {
		cid = ids[0]
	} else {
		cid = strings.Trim(cid, "<>")
	}
	inline := inBody || (cid != "" && e.disp != "attachment")
	return newAttachment(name, ct, cid, inline, data)
}

func newAttachment(name, ct, cid string, inline bool, data []byte) Attachment {
	sum := sha256.Sum256(data)
	return Attachment{
		Filename:    name,
		ContentType: ct,
		Size:        len(data),
		SHA256:      hex.EncodeToString(sum[:]),
		Inline:      inline,
		ContentID:   cid,
		Content:     data,
	}
}

// embeddedMessageName names an attached message after its subject.
func embeddedMessageName(data []byte) string {
	fields, _, _ := splitHeader(normalizeNewlines(data))
	for _, f := range fields {
		if !strings.EqualFold(f.name, "Subject") {
			continue
		}
		s, _ := decodeWords(bestEffortUTF8([]byte(unfold(f.value))))
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
				return '_'
			}
			return r
		}, s)
		s = strings.TrimSpace(s)
		if len(s) > 100 {
			s = strings.ToValidUTF8(s[:100], "")
		}
		if s != "" {
			return s + ".eml"
		}
		break
	}
	return "message.eml"
}

// guessType gives a media type for a uuencoded file from its extension.
func guessType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt":
		return "text/plain"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".pdf":
		return "application/pdf"
	case ".zip":
		return "application/zip"
	case ".html", ".htm":
		return "text/html"
	}
	return "application/octet-stream"
}
