package ticket_test

import (
	"context"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// A bounce of a notice marks it failed and tells the ticket's history;
// a bounce of nothing of ours changes nothing.
func TestFailOutbound(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	f.notice(t, tk, "pd.ack.2@bank.example", "jane@user.com")
	f.inTx(t, func(ctx context.Context, tx *ticket.Tx) error {
		got, rcpt, err := tx.FailOutbound(ctx, ticket.Bounce{MessageIDs: []string{"pd.ack.2@bank.example"},
			Status: "bounced 5.1.1: no such user"})
		if err != nil || got == nil || got.ID != tk.ID || rcpt != "jane@user.com" {
			t.Errorf("bounce: %v, %q, %v", got, rcpt, err)
		}
		none, _, err := tx.FailOutbound(ctx, ticket.Bounce{MessageIDs: []string{"other@x"}})
		if err != nil || none != nil {
			t.Errorf("bounce of no notice: %v, %v", none, err)
		}
		return nil
	})
	var state, lastError string
	if err := f.store.Pool().QueryRow(context.Background(),
		`SELECT state, last_error FROM outbound_mails WHERE message_id = 'pd.ack.2@bank.example'`).Scan(&state, &lastError); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || lastError != "bounced 5.1.1: no such user" {
		t.Fatalf("notice %s (%s)", state, lastError)
	}
	ev := lastEvent(t, f.events(t, tk))
	if ev.Action != ticket.ActionDeliveryFailed || ev.New != "jane@user.com" || ev.Detail != "bounced 5.1.1: no such user" ||
		ev.Actor.Kind != ticket.ActorSystem {
		t.Fatalf("event %+v", ev)
	}
}
