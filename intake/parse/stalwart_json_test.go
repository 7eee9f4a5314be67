package parse

import (
	"encoding/json"
)

// The stalwart mail-parser corpus ships the expected parse of each mail as
// JSON (see shared/corpus/README.md section 1). These types read the parts
// of it we compare.
type swMessage struct {
	TextBody    []int    `json:"text_body"`
	HTMLBody    []int    `json:"html_body"`
	Attachments []int    `json:"attachments"`
	Parts       []swPart `json:"parts"`
}

type swPart struct {
	Headers    []swHeader                 `json:"headers"`
	Body       map[string]json.RawMessage `json:"body"`
	OffsetBody int                        `json:"offset_body"`
	OffsetEnd  int                        `json:"offset_end"`
	OffsetHead int                        `json:"offset_header"`
}

type swHeader struct {
	Name  json.RawMessage `json:"name"`
	Value json.RawMessage `json:"value"` // an object, or the string "Empty"
}

type swAddr struct {
	Name    *string `json:"name"`
	Address *string `json:"address"`
}

type swParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type swContentType struct {
	Attributes []swParam `json:"attributes"`
}

func (p swPart) header(name string) map[string]json.RawMessage {
	for _, h := range p.Headers {
		var n string
		if json.Unmarshal(h.Name, &n) == nil && n == name {
			v := map[string]json.RawMessage{}
			_ = json.Unmarshal(h.Value, &v)
			return v
		}
	}
	return nil
}

func (p swPart) text(name string) string {
	var s string
	if v := p.header(name); v != nil {
		_ = json.Unmarshal(v["Text"], &s)
	}
	return s
}

func (p swPart) list(name string) []string {
	v := p.header(name)
	if v == nil {
		return nil
	}
	var l []string
	if json.Unmarshal(v["TextList"], &l) == nil && l != nil {
		return l
	}
	var s string
	if json.Unmarshal(v["Text"], &s) == nil && s != "" {
		return []string{s}
	}
	return nil
}

func (p swPart) param(header, name string) string {
	v := p.header(header)
	if v == nil {
		return ""
	}
	var ct swContentType
	_ = json.Unmarshal(v["ContentType"], &ct)
	for _, a := range ct.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

func (p swPart) from() Address {
	v := p.header("from")
	if v == nil {
		return Address{}
	}
	var a struct {
		List  []swAddr `json:"List"`
		Group []struct {
			Addresses []swAddr `json:"addresses"`
		} `json:"Group"`
	}
	_ = json.Unmarshal(v["Address"], &a)
	list := a.List
	if len(list) == 0 && len(a.Group) > 0 {
		list = a.Group[0].Addresses
	}
	if len(list) == 0 {
		return Address{}
	}
	var out Address
	if list[0].Name != nil {
		out.Name = *list[0].Name
	}
	if list[0].Address != nil {
		out.Address = *list[0].Address
	}
	return out
}

// swBody returns the kind of a part body and, for text kinds, its text.
func (p swPart) swBody() (kind, text string, binary []byte) {
	for k, raw := range p.Body {
		switch k {
		case "Text", "Html":
			_ = json.Unmarshal(raw, &text)
		case "Binary", "InlineBinary":
			var ints []int
			_ = json.Unmarshal(raw, &ints)
			binary = make([]byte, len(ints))
			for i, n := range ints {
				binary[i] = byte(n)
			}
		}
		return k, text, binary
	}
	return "", "", nil
}

// swExpectedSize is the decoded size of an attachment part.
func swExpectedSize(p swPart) int {
	kind, text, bin := p.swBody()
	switch kind {
	case "Text", "Html":
		return len(text)
	case "Binary", "InlineBinary":
		return len(bin)
	case "Message":
		var inner swMessage
		_ = json.Unmarshal(p.Body["Message"], &inner)
		if len(inner.Parts) > 0 && inner.Parts[0].OffsetHead == 0 && p.OffsetBody > 0 {
			// The embedded message was transfer-decoded into its own buffer.
			return inner.Parts[0].OffsetEnd
		}
		return p.OffsetEnd - p.OffsetBody
	}
	return -1
}
