package ticket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// notice stores a sent notice for tk as the mailer would.
func (f *fixture) notice(t *testing.T, tk *ticket.Ticket, messageID, recipient string) {
	t.Helper()
	_, err := f.store.Pool().Exec(context.Background(), `
		INSERT INTO outbound_mails (ticket_id, message_id, template, recipient, recipient_kind, mail_from, rendered, state)
		VALUES ($1, $2, 'customer_ack', $3, 'customer', 'outage@bank.example', '', 'sent')`, tk.ID, messageID, recipient)
	if err != nil {
		t.Fatal(err)
	}
}

// inTx runs fn in a transaction of its own and fails the test on an error.
func (f *fixture) inTx(t *testing.T, fn func(ctx context.Context, tx *ticket.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := f.store.InTx(ctx, func(tx *ticket.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

func TestThreadingLookups(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	other := f.open(t)
	f.notice(t, tk, "pd.ack.1@bank.example", "jane@user.com")
	if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddCollaborator(context.Background(), tk, ticket.AgentActor(f.ken), ticket.Contact{Email: "bob@user.com"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.inTx(t, func(ctx context.Context, tx *ticket.Tx) error {
		if id, err := tx.TicketOfNotice(ctx, []string{"unknown@x", "pd.ack.1@bank.example"}); err != nil || id != tk.ID {
			t.Errorf("ticket of notice: %d, %v; want %d", id, err, tk.ID)
		}
		if id, err := tx.TicketOfNotice(ctx, nil); err != nil || id != 0 {
			t.Errorf("ticket of no notice: %d, %v", id, err)
		}
		// Both tickets hold a message "jane-1@user.com": the newest wins.
		if id, err := tx.TicketOfMessage(ctx, []string{"jane-1@user.com"}); err != nil || id != other.ID {
			t.Errorf("ticket of message: %d, %v; want %d", id, err, other.ID)
		}
		if id, err := tx.TicketOfMessage(ctx, []string{"nobody@x"}); err != nil || id != 0 {
			t.Errorf("ticket of an unknown message: %d, %v", id, err)
		}
		if id, err := tx.TicketID(ctx, tk.Number); err != nil || id != tk.ID {
			t.Errorf("ticket id: %d, %v", id, err)
		}
		if _, err := tx.TicketID(ctx, "NO-SUCH"); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("unknown number: %v, want ErrNotFound", err)
		}
		for _, c := range []struct {
			email string
			want  bool
		}{{"JANE@user.com", true}, {"bob@user.com", true}, {f.mary.Email, true}, {"mallory@evil.example", false}} {
			id, ok, err := tx.Participant(ctx, tk.Number, c.email)
			if err != nil || id != tk.ID || ok != c.want {
				t.Errorf("participant %s: %d, %v, %v; want %v", c.email, id, ok, err, c.want)
			}
		}
		if _, _, err := tx.Participant(ctx, "NO-SUCH", "jane@user.com"); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("participant of no ticket: %v", err)
		}
		return nil
	})
	numbers, err := ticket.Numbers(context.Background(), f.store.Pool(), []int64{tk.ID, other.ID, 999999})
	if err != nil || len(numbers) != 2 || numbers[tk.ID] != tk.Number || numbers[other.ID] != other.Number {
		t.Fatalf("numbers %v, %v", numbers, err)
	}
}
