package mailer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/ticket"
)

// openFor makes a ticket from customer, as it arrives by mail at support@.
func (f *fixture) openFor(customer string) *ticket.Ticket {
	f.t.Helper()
	var tk *ticket.Ticket
	err := f.store.InTx(f.ctx, func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(f.ctx, ticket.NewTicket{
			Subject:      "cannot log in",
			Customer:     ticket.Contact{Email: customer},
			DepartmentID: f.help.ID,
			MailboxID:    f.support.ID,
			Message:      ticket.Message{Body: "the app says my account is locked"},
		})
		return err
	})
	if err != nil {
		f.t.Fatalf("open for %s: %v", customer, err)
	}
	return tk
}

// TestRefusedMailIsResetBeforeTheNext: a relay that keeps a refused
// transaction open until RSET (Mailpit v1.33.1) answers the next MAIL with
// 503 unless the client resets first. After a refusal at DATA the next
// notice of the batch must be delivered, pipelined or one command at a
// time, and only the refused notice bears the refusal.
func TestRefusedMailIsResetBeforeTheNext(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refusal   func() error
		reply     string   // how the refused notice's last error starts
		customers []string // each opens a ticket; only the acknowledgements are on
		state     string   // of the refused notice
	}{
		{"451 to the mail, pipelined", tempFail, "451 4.3.0", []string{"jane@user.com", "joe@user.com", "ann@user.com"}, "pending"},
		{"550 to the mail, pipelined", permFail, "550 5.1.1", []string{"jane@user.com", "joe@user.com", "ann@user.com"}, "failed"},
		// Non-ASCII addresses go one command at a time (SMTPUTF8).
		{"451 to the mail, one command at a time", tempFail, "451 4.3.0", []string{"jöran@user.com", "märta@user.com", "åsa@user.com"}, "pending"},
		{"550 to the mail, one command at a time", permFail, "550 5.1.1", []string{"jöran@user.com", "märta@user.com", "åsa@user.com"}, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *mailer.Options) {
				o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
			}, func(s *sink) {
				s.keepRefused, s.utf8 = true, true
				s.answer = func(n int) error {
					if n == 0 {
						return tc.refusal()
					}
					return nil
				}
			})
			for _, c := range tc.customers {
				f.openFor(c)
			}
			if _, err := f.worker().DeliverBatch(f.ctx); err != nil {
				t.Fatal(err)
			}
			var refused, sent []row
			for _, r := range f.rows() {
				if r.State == "sent" {
					sent = append(sent, r)
				} else {
					refused = append(refused, r)
				}
			}
			if len(refused) != 1 || refused[0].State != tc.state || refused[0].Attempts != 1 ||
				!strings.HasPrefix(refused[0].LastError, tc.reply) {
				t.Errorf("want exactly the first notice refused (%s, one attempt, its reply); not sent: %+v", tc.state, brief(refused))
			}
			if len(sent) != len(tc.customers)-1 || f.sink.accepted() != len(tc.customers)-1 {
				t.Errorf("%d notices marked sent, relay accepted %d, want %d each; not sent: %+v",
					len(sent), f.sink.accepted(), len(tc.customers)-1, brief(refused))
			}
			if n := f.sink.sessionCount(); n != 1 {
				t.Errorf("%d SMTP sessions for one batch, want 1", n)
			}
		})
	}
}

// TestBadSequenceIsTemporary: a 503 to MAIL (the relay thinks the
// commands came out of order) is the session's trouble, not the
// recipient's: the notice is kept for a retry, and the rest of the batch
// goes over a new connection.
func TestBadSequenceIsTemporary(t *testing.T) {
	f := newFixture(t, func(o *mailer.Options) {
		o.Departments = map[string]mailer.Notices{"help desk": {CustomerAck: true}}
		o.Queue.RetryBase, o.Queue.RetryMax = time.Hour, time.Hour // the retry is not due during the test
	}, func(s *sink) {
		s.mailAnswer = func(n int) error {
			if n == 0 {
				return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: nested MAIL command"}
			}
			return nil
		}
	})
	for _, c := range []string{"jane@user.com", "joe@user.com", "ann@user.com"} {
		f.openFor(c)
	}
	f.deliver()
	var states []string
	for _, r := range f.rows() {
		states = append(states, r.State+" "+r.LastError)
	}
	want := []string{"pending 503 5.5.1 Error: nested MAIL command", "sent ", "sent "}
	if strings.Join(states, "|") != strings.Join(want, "|") {
		t.Errorf("notices after a 503 to the first MAIL: %q, want %q", states, want)
	}
	if n := f.sink.sessionCount(); n != 2 {
		t.Errorf("%d SMTP sessions, want 2: the one out of step is not used again", n)
	}
}

func brief(rs []row) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Recipient+": "+r.State+" "+r.LastError)
	}
	return out
}
