package templates

import (
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/postdesk/postdesk/ticket"
)

// DateLayout is how date prints a time unless the template gives a layout.
const DateLayout = "Mon, 2 Jan 2006 15:04 MST"

func funcs() map[string]any {
	return map[string]any{
		"date":      date,
		"quote":     quote,
		"indent":    indent,
		"bare":      bare,
		"separator": func() string { return ticket.ReplySeparator },
		"join":      strings.Join,
	}
}

func textFuncs() texttemplate.FuncMap { return funcs() }
func htmlFuncs() htmltemplate.FuncMap { return funcs() }

// date formats t with DateLayout, or with the Go layout given first:
// {{date .Ticket.Created}}, {{date "2006-01-02" .Ticket.Created}}.
func date(args ...any) (string, error) {
	layout := DateLayout
	var t time.Time
	switch len(args) {
	case 1:
		tt, ok := args[0].(time.Time)
		if !ok {
			return "", errArg("date", "a time")
		}
		t = tt
	case 2:
		l, ok1 := args[0].(string)
		tt, ok2 := args[1].(time.Time)
		if !ok1 || !ok2 {
			return "", errArg("date", "a layout and a time")
		}
		layout, t = l, tt
	default:
		return "", errArg("date", "a time, or a layout and a time")
	}
	if t.IsZero() {
		return "", nil
	}
	return t.Format(layout), nil
}

// quote prefixes every line with "> ", as mail clients quote.
func quote(s string) string {
	return prefixLines(strings.TrimRight(s, "\n"), "> ", ">")
}

// indent prefixes every non-empty line with n spaces.
func indent(n int, s string) string {
	if n < 0 {
		n = 0
	}
	return prefixLines(strings.TrimRight(s, "\n"), strings.Repeat(" ", n), "")
}

func prefixLines(s, prefix, emptyPrefix string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = emptyPrefix
		} else {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

var replyPrefix = regexp.MustCompile(`(?i)^\s*((re|fwd?|aw|wg|sv|vs|antw|tr|rif|r)(\[\d+\])?\s*:\s*)+`)

// bare removes the Re:/Fwd: prefixes (in common languages) from a subject.
func bare(subject string) string {
	return strings.TrimSpace(replyPrefix.ReplaceAllString(subject, ""))
}

func errArg(fn, want string) error { return fmt.Errorf("%s: want %s", fn, want) }
