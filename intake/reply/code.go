package reply

import (
	"regexp"
	"strings"
)

// People paste logs, stack traces, configuration and query results into
// support mail, often below a rule of dashes and as the last thing in the
// mail. A signature or footer below a rule is a name, a title, an address,
// a disclaimer: prose. A rule above machine output, or a rule indented as
// part of a code block, does not start a signature.

// codeLine matches a line of pasted machine output or code: a log line that
// opens with a timestamp or carries a log level, a stack-trace frame, a
// shell prompt, a line ending like code, a table row, a YAML or INI entry.
var codeLine = regexp.MustCompile(`^(?:` +
	`\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d` + // 2024-03-12 10:15, [2024-03-12T10:15
	`|\[?\d\d:\d\d:\d\d\b` + // 10:15:01
	`|\[?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d\b` + // syslog
	`|\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ` + // [Tue Mar 12 10:15:01 2024] (Apache)
	`|(?:ERROR|WARN|INFO|DEBUG|TRACE|FATAL|CRITICAL|SEVERE|PANIC)[: ]|[VDIWEF]/\w` + // ERROR: …, E/Tag
	`|.*\[(?:ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL|CRITICAL|SEVERE|NOTICE|PANIC|error|warn|warning|info|debug|notice)\]` +
	`|Traceback \(most recent call last\)|Caused by: |panic: |goroutine \d+ \[|Exception in thread ` +
	`|[\w.$]+(?:Error|Exception)(?::|$)` +
	`|\$ \S|[\w.-]+@[\w.-]+:\S*[$#] |[A-Z]:\\\S*>|mysql> |postgres=[#>] |PS [A-Z]:\\` +
	`|.*[;{}]$|.*[\w\]]\([^()]*\)[;,]?$|<\??/?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>` +
	`|\|.*\|$|\+[-+=]+\+$` +
	`|[\w.-]+:\s*(?:["'\[{|>&*].*)?$|[\w.-]+\s*=\s*\S` + // YAML, INI
	`)`)

// isIndented reports a line that starts with a tab or two blanks: a code
// block, not a rule a mail client wrote.
func isIndented(s string) bool {
	return strings.HasPrefix(s, "\t") || strings.HasPrefix(s, "  ")
}

// isCodeLine reports a line that reads as pasted code or machine output.
func isCodeLine(s string) bool {
	if isIndented(s) {
		return true
	}
	return codeLine.MatchString(strings.TrimSpace(s))
}

// keepPastedCode turns rules that open pasted code back into text: a rule
// indented like the code around it, and a rule (other than the signature
// separator "-- ") whose text below, up to the next line of another kind,
// is mostly code or machine output.
func keepPastedCode(lines []line) {
	for i, l := range lines {
		if l.kind != kindDelimiter {
			continue
		}
		if len(l.raw) == 1 && isIndented(l.raw[0]) {
			lines[i].kind = kindText
			continue
		}
		if l.text == "-- " {
			continue
		}
		code, text := 0, 0
		for _, b := range lines[i+1:] {
			if b.kind == kindEmpty {
				continue
			}
			if b.kind != kindText && b.kind != kindHeader {
				break
			}
			text++
			if isCodeLine(b.text) {
				code++
			}
		}
		if text > 0 && code*2 >= text {
			lines[i].kind = kindText
		}
	}
}
