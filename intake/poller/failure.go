package poller

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/emersion/go-imap/v2"
)

// worded is an error that says in plain words what failed, fit to be shown
// to anyone: the health endpoints show these words, the log the whole error.
// The words hold no server's answer, no tool's output, no setting that may
// be a secret (a token command's line, a database URL): what a server or a
// tool says may carry credentials, hosts and tokens.
type worded interface {
	error
	words() string
}

// failure is an error with its words.
type failure struct {
	what string
	err  error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }
func (f *failure) words() string { return f.what }

// fail gives err the words that may be shown of it.
func fail(what string, err error) error { return &failure{what: what, err: err} }

// unworded is what is shown of an error nobody put into words.
const unworded = "the poll failed; the log says why"

// wordsOf is what may be shown of err to anyone.
func wordsOf(err error) string {
	var w worded
	if errors.As(err, &w) {
		return w.words()
	}
	return unworded
}

// tlsWords words a failed TLS handshake.
func tlsWords(err error) string {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) {
		return "the IMAP server's TLS certificate is not trusted"
	}
	return "TLS with the IMAP server failed"
}

// refusedOr words a failed command: refused when the server answered NO or
// BAD, else the connection failed under it.
func refusedOr(err error, refused, failed string) string {
	var ierr *imap.Error
	if errors.As(err, &ierr) {
		return refused
	}
	return failed
}
