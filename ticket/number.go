package ticket

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// Numbering makes public ticket numbers and the subject token that carries
// them. Numbers are random, so that one ticket's number says nothing about
// another's.
type Numbering struct {
	Length int    // digits, 4 to 12
	Prefix string // printed before the digits, e.g. "PD-"
	Token  string // subject token format containing {number}, e.g. "[#{number}]"
	find   *regexp.Regexp
}

// NewNumbering checks the format and prepares the token matcher.
func NewNumbering(length int, prefix, token string) (Numbering, error) {
	if length < 4 || length > 12 {
		return Numbering{}, fmt.Errorf("ticket: number length %d: %w: want 4 to 12", length, ErrInvalid)
	}
	if token == "" {
		token = "[#{number}]"
	}
	before, after, ok := strings.Cut(token, "{number}")
	if !ok {
		return Numbering{}, fmt.Errorf("ticket: subject token %q: %w: it must contain {number}", token, ErrInvalid)
	}
	pattern := `(?i)` + regexp.QuoteMeta(before) + `\s*(` + regexp.QuoteMeta(prefix) + `[0-9]{` +
		fmt.Sprint(length) + `})\s*` + regexp.QuoteMeta(after)
	re, err := regexp.Compile(pattern)
	if err != nil {
		return Numbering{}, fmt.Errorf("ticket: subject token %q: %w", token, err)
	}
	return Numbering{Length: length, Prefix: prefix, Token: token, find: re}, nil
}

// DefaultNumbering is six digits, no prefix, token "[#123456]".
func DefaultNumbering() Numbering {
	n, err := NewNumbering(6, "", "[#{number}]")
	if err != nil {
		panic(err) // constant input
	}
	return n
}

// New returns a fresh random number. It does not check uniqueness; the
// database does.
func (n Numbering) New() (string, error) {
	var b strings.Builder
	b.WriteString(n.Prefix)
	for i := 0; i < n.Length; i++ {
		max := int64(10)
		if i == 0 {
			max = 9 // no leading zero: numbers are read aloud on the phone
		}
		d, err := rand.Int(rand.Reader, big.NewInt(max))
		if err != nil {
			return "", fmt.Errorf("ticket: random number: %w", err)
		}
		if i == 0 {
			d.Add(d, big.NewInt(1))
		}
		b.WriteString(d.String())
	}
	return b.String(), nil
}

// FormatToken returns the subject token for a ticket number.
func (n Numbering) FormatToken(number string) string {
	return strings.Replace(n.Token, "{number}", number, 1)
}

// Subject returns subject carrying the ticket's token, added in front unless
// it is already there.
func (n Numbering) Subject(number, subject string) string {
	if got, ok := n.FindToken(subject); ok && got == number {
		return subject
	}
	return n.FormatToken(number) + " " + subject
}

// FindToken returns the ticket number carried by a subject's token.
func (n Numbering) FindToken(subject string) (string, bool) {
	if n.find == nil {
		return "", false
	}
	m := n.find.FindStringSubmatch(subject)
	if m == nil {
		return "", false
	}
	return strings.ToUpper(m[1]), true
}
