package parse

import (
	"bytes"
	"regexp"
	"unicode/utf8"
)

// The classifying expressions are case-insensitive and hold many
// alternatives, which makes them slow even on a short subject or name.
// Most mail is ASCII and names none of their words, so each has a list of
// words, one in every alternative that can match ASCII text, to rule it out
// cheaply. Under Unicode case folding no non-ASCII letter of these patterns
// matches an ASCII byte, and their ASCII letters match no other ASCII byte
// than their two cases; so an alternative that has non-ASCII letters cannot
// match ASCII text, and one made of ASCII can match only text holding its
// lower-cased words. TestClassifyWords checks the lists on samples.
var (
	// failSubjectWords: "undeliver", "could not send", "error sending",
	// "mail loop", "unzustellbar", "non remis", "no se puede entregar",
	// "message not sent", …
	failSubjectWords = []string{
		"deliver", "fail", "return", "could", "error", "delayed", "rejected", "bounced", "blocked",
		"loop", "zustellbar", "remis", "recapitabile", "onbestelbaar", "entrega", "olevererbar", "sent",
	}
	// daemonLocalWords: "mailer-daemon", "mdaemon", "postmaster",
	// "post.master", "mail-delivery-system", "microsoftexchange…", "mailadmin".
	daemonLocalWords = []string{"mail", "daemon", "post", "microsoftexchange"}
	// daemonNameWords: "mail delivery subsystem", "mailer-daemon",
	// "postmaster", "system administrator", "delivery status",
	// "microsoft outlook", …
	daemonNameWords = []string{"mail", "postmaster", "system", "delivery", "outlook"}
	// autoReplySubjectWords: "auto…" (also "réponse automatique",
	// "respuesta automática", …), "out of office", "ooo", "on vacation",
	// "abwesenheit", "absent du bureau", "fuera de la oficina", "fuori
	// ufficio", "afwezig", "nieobecn…".
	autoReplySubjectWords = []string{
		"auto", "office", "ooo", "vacation", "abwesenheit", "bureau", "oficina", "ufficio", "afwezig", "nieobecn",
	}
)

// matchASCIIWords reports re.MatchString(s), for an re of which every match
// in ASCII text holds one of words (lower case) in any case. ASCII text
// without them is not handed to re.
func matchASCIIWords(re *regexp.Regexp, s string, words []string) bool {
	var buf [1024]byte
	if len(s) > len(buf) {
		return re.MatchString(s)
	}
	low := buf[:len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return re.MatchString(s)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	for _, w := range words {
		if bytes.Contains(low, []byte(w)) {
			return re.MatchString(s)
		}
	}
	return false
}
