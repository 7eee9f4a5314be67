// Package reply extracts the part of a reply mail that its author actually
// wrote: quoted history, "On … wrote:" attributions, Outlook header blocks,
// forwarded mails, signatures and postdesk's own reply separator are cut.
//
// The plain-text trimmer works in the manner of Discourse's
// email_reply_trimmer: every line is classified (text, empty, quote,
// delimiter, mobile signature, embedded-mail marker, mail header), the
// classes are written as one letter each, and cutting rules are regular
// expressions over that string of letters. Matching the shape of a mail
// rather than its words keeps the rules language-neutral: only the line
// classifiers know the many languages.
//
// Everything here is pure: no I/O, no logging, no shared mutable state.
package reply
