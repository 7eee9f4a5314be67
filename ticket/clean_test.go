package ticket_test

import (
	"context"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// Mail can carry NUL bytes and broken UTF-8, which PostgreSQL's text type
// refuses; they must not make a ticket impossible to store.
func TestUnstorableTextIsCleaned(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	var tk *ticket.Ticket
	err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(ctx, ticket.NewTicket{
			Subject: "print\x00er jam \xff", Customer: ticket.Contact{Email: "k@b.example", Name: "K\x00"},
			DepartmentID: f.help.ID,
			Message: ticket.Message{Body: "hel\x00lo", HTML: "<p>\x00</p>", MessageID: "a\x00@b",
				Attachments: []ticket.Attachment{{Filename: "a\x00.txt", Content: []byte("bin\x00ary")}}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Get(ctx, tk.Number)
	h, _ := f.store.History(ctx, tk.ID)
	m := h[0].Message
	if got.Subject != "printer jam \uFFFD" || got.CustomerName != "K" || m.Body != "hello" ||
		m.MessageID != "a@b" || m.Attachments[0].Filename != "a.txt" || m.Attachments[0].Size != 7 {
		t.Fatalf("stored subject %q name %q body %q id %q attachment %+v", got.Subject, got.CustomerName, m.Body,
			m.MessageID, m.Attachments[0])
	}
	if strings.ContainsRune(m.HTML, 0) {
		t.Fatal("NUL kept in HTML")
	}
}
