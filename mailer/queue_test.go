package mailer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// Notices queued together in one transaction behave as if queued one after
// the other: a later notice to the same person threads under the earlier
// one, and the earlier one counts against the per-recipient cap.
func TestNoticesOfOneTransactionSeeEachOther(t *testing.T) {
	f := newFixture(t, nil, nil)
	tk := f.open("jane-1@user.com")
	f.mustChange(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		for _, body := range []string{"first answer", "second answer"} {
			if _, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply,
				Author: ticket.AgentActor(f.ken), Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
	var replies []row
	for _, r := range f.rows() {
		if r.Template == templates.CustomerReply && r.Recipient == jane {
			replies = append(replies, r)
		}
	}
	if len(replies) != 2 {
		t.Fatalf("%d replies queued to Jane, want 2", len(replies))
	}
	first := parse(t, received{To: []string{jane}, Data: replies[0].Raw})
	second := parse(t, received{To: []string{jane}, Data: replies[1].Raw})
	if refs := first.ids("References"); slices.Contains(refs, second.messageID()) {
		t.Errorf("the first reply references the second: %v", refs)
	}
	refs := second.ids("References")
	if len(refs) < 2 || refs[len(refs)-1] != first.messageID() || refs[0] != "jane-1@user.com" {
		t.Errorf("second reply References %v: want the first message first and the first reply (%s) last",
			refs, first.messageID())
	}

	// Opening and resolving in one transaction queues two automatic mails
	// to Max: with a cap of 1 the acknowledgement counts, though it was not
	// stored yet, and holds the resolution notice back.
	f2 := newFixture(t, func(o *mailer.Options) { o.AutoReplyLimit = 1 }, nil)
	err := f2.store.InTx(f2.ctx, func(tx *ticket.Tx) error {
		tk, _, err := tx.Open(f2.ctx, ticket.NewTicket{Subject: "locked out", DepartmentID: f2.help.ID,
			Customer: ticket.Contact{Email: "max@user.com"}, Message: ticket.Message{Body: "help"}})
		if err != nil {
			return err
		}
		return tx.SetStatus(f2.ctx, tk, ticket.AgentActor(f2.ken), ticket.StatusResolved)
	})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range f2.rows() {
		if r.Recipient == "max@user.com" {
			states[r.Template] = r.State
			if r.State == "suppressed" && !strings.Contains(r.LastError, "1 automatic mails") {
				t.Errorf("suppressed %s without the count: %q", r.Template, r.LastError)
			}
		}
	}
	if states[templates.CustomerAck] != "pending" || states[templates.CustomerResolved] != "suppressed" {
		t.Errorf("with a cap of 1: %v, want the acknowledgement pending and the resolution notice suppressed", states)
	}
}
