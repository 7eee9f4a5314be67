package listener_test

import (
	"errors"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/ticket"
)

// rig is the intake rig, shared with intake's own tests.
type rig struct{ *intaketest.Rig }

func newRig(t *testing.T, store *ticket.Store, mod func(*intake.Options, *listener.Config)) *rig {
	t.Helper()
	return &rig{intaketest.New(t, store, mod)}
}

// smtpCode is the reply code of an SMTP error, 0 for any other error.
func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
