package parse

import "github.com/postdesk/postdesk/intake/reply"

// replyText returns the part of text the sender wrote in this mail: quoted
// history and signature cut off by the reply trimmer.
func replyText(text string) string {
	visible, _ := reply.Trim(text)
	return visible
}
