package parse

import (
	"strings"

	"github.com/postdesk/postdesk/intake/reply"
)

// replyText returns the part of text the sender wrote in this mail: quoted
// history and signature cut off by the reply trimmer. A reply that is
// nothing but a quote (sent without a word added, or written inside the
// quote) keeps its whole text: an empty reply would lose what the sender
// meant to send.
func replyText(text string) string {
	if visible, _ := reply.Trim(text); visible != "" {
		return visible
	}
	return strings.TrimSpace(text)
}
