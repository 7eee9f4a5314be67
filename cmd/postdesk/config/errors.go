package config

import (
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration file, located at the YAML
// node that causes it. Messages name environment variables but never print
// their values.
type Problem struct {
	File    string // the path given to Load
	Line    int    // 1-based; 0 when unknown
	Column  int    // 1-based; 0 when unknown
	Path    string // e.g. "mailboxes[1].imap.host"; empty for file-level problems
	Message string
}

// String formats the problem as FILE:LINE:COL: PATH: MESSAGE. A zero line
// or column and an empty path are left out, as compilers do.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Errors holds every problem found in one Load, ordered by position.
type Errors struct {
	Problems    []Problem
	onlySecrets []string // see OnlyMissingSecrets
}

// OnlyMissingSecrets returns the unset `*_env` variables when they are the
// only problems of the file, and nil otherwise: the file is fine, the
// environment is not.
func (e *Errors) OnlyMissingSecrets() []string { return e.onlySecrets }

// Error lists every problem, one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
