package mailer

import (
	"bytes"
	"crypto"
	"fmt"
	"os"

	"github.com/emersion/go-msgauth/dkim"
	gomail "github.com/wneessen/go-mail"
)

// ReadDKIMKey reads a PEM private key (PKCS#1 RSA, or PKCS#8 RSA or
// Ed25519) for DKIM.Signer. Errors name the file, never its content.
func ReadDKIMKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mailer: DKIM key: %w", err)
	}
	key, err := gomail.PrivKeyFromPEM(b)
	if err != nil {
		return nil, fmt.Errorf("mailer: DKIM key %s: %w", path, err)
	}
	return key, nil
}

// signedHeaders are the fields a DKIM signature covers: those a reader
// trusts and those threading depends on. Fields absent from a notice are
// still listed, so that nobody can add them in transit (RFC 6376 5.4).
func signedHeaders() []string {
	return []string{"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To",
		"References", "Reply-To", "Auto-Submitted", "MIME-Version", "Content-Type"}
}

// dkimSigner signs notices at send time, so that a key rotation applies to
// everything still queued.
type dkimSigner struct {
	opts dkim.SignOptions
}

func newDKIMSigner(d *DKIM) (*dkimSigner, error) {
	s := &dkimSigner{opts: dkim.SignOptions{
		Domain:                 d.Domain,
		Selector:               d.Selector,
		Signer:                 d.Signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders(),
	}}
	// NewSigner checks the key type and options without signing anything.
	probe, err := dkim.NewSigner(&s.opts)
	if err != nil {
		return nil, fmt.Errorf("mailer: DKIM: %w", err)
	}
	probe.Close() //nolint:errcheck // nothing was written: the error only says so
	return s, nil
}

// sign returns raw with a DKIM-Signature field in front.
func (s *dkimSigner) sign(raw []byte) ([]byte, error) {
	if s == nil {
		return raw, nil
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 512)
	opts := s.opts // dkim.Sign does not modify it, but a copy keeps workers independent
	if err := dkim.Sign(&out, bytes.NewReader(raw), &opts); err != nil {
		return nil, fmt.Errorf("mailer: DKIM sign: %w", err)
	}
	return out.Bytes(), nil
}
