package parse

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// htmlPolicy is bluemonday's UGC policy plus the cid: scheme, so inline
// images (<img src="cid:...">) still resolve to their attachments. A policy
// is safe for concurrent use once built; it is built once, lazily.
var htmlPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemeWithCustomPolicy("cid", func(u *url.URL) bool {
		return u.Opaque != "" || u.Host != "" || u.Path != ""
	})
	return p
})

// sanitizeHTML returns the HTML safe to show to agents.
func sanitizeHTML(s string) string {
	return strings.TrimSpace(htmlPolicy().Sanitize(s))
}

// metaCharset finds <meta charset=x> or <meta http-equiv content="...;
// charset=x"> in the head of an HTML part sent without a charset parameter.
var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)`)

// htmlMetaCharset returns the charset an HTML body declares for itself.
func htmlMetaCharset(b []byte) string {
	head := b
	if len(head) > 4096 {
		head = head[:4096]
	}
	if !bytes.Contains(bytes.ToLower(head), []byte("charset")) {
		return ""
	}
	if m := metaCharset.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}
