package ticket_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

func TestOpenStoresTicketMessageAndEvent(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tk := f.open(t)

	if !regexp.MustCompile(`^[1-9][0-9]{5}$`).MatchString(tk.Number) {
		t.Errorf("number %q is not six digits", tk.Number)
	}
	got, err := f.store.Get(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "entire mobile online banking is down" || got.Status != ticket.StatusOpen ||
		got.Priority != ticket.PriorityEmergency || got.DepartmentName != "Help Desk" ||
		got.CustomerEmail != "jane@user.com" || got.CustomerName != "Jane Doe" || got.AssigneeID != 0 {
		t.Fatalf("stored ticket = %+v", got)
	}
	h, err := f.store.History(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Event == nil || h[0].Event.Action != ticket.ActionOpened {
		t.Fatalf("history = %+v, want one opened event", h)
	}
	m := h[0].Message
	if m == nil || m.Kind != ticket.KindCustomer || m.Author.Email != "jane@user.com" ||
		!strings.Contains(m.Body, "404 error") || m.MessageID != "jane-1@user.com" {
		t.Fatalf("first message = %+v", m)
	}
	if h[0].Event.Actor.Kind != ticket.ActorCustomer {
		t.Errorf("opened by %v, want the customer", h[0].Event.Actor)
	}
}

func TestOpenedTicketNumbersAreDistinct(t *testing.T) {
	f := newFixture(t, nil)
	seen := map[string]bool{}
	for range 30 {
		tk := f.open(t)
		if seen[tk.Number] {
			t.Fatalf("number %s handed out twice", tk.Number)
		}
		seen[tk.Number] = true
	}
}

func TestOpenWithAttachmentsDeduplicatesContent(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	logo := []byte("\x89PNG fake image bytes")
	err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
		_, _, err := tx.Open(ctx, ticket.NewTicket{
			Subject: "screenshots", Customer: ticket.Contact{Email: "jane@user.com"}, DepartmentID: f.help.ID,
			Message: ticket.Message{Body: "see attached", Attachments: []ticket.Attachment{
				{Filename: "a.png", ContentType: "image/png", Content: logo, Inline: true, ContentID: "img1@x"},
				{Filename: "copy.png", ContentType: "image/png", Content: logo},
			}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var blobs, atts int
	if err := f.store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM blobs), (SELECT count(*) FROM attachments)`).
		Scan(&blobs, &atts); err != nil {
		t.Fatal(err)
	}
	if blobs != 1 || atts != 2 {
		t.Fatalf("blobs %d, attachments %d; want one stored content for two attachments", blobs, atts)
	}
	var cid string
	var size int64
	if err := f.store.Pool().QueryRow(ctx, `SELECT content_id, size FROM attachments WHERE filename = 'a.png'`).
		Scan(&cid, &size); err != nil || cid != "img1@x" || size != int64(len(logo)) {
		t.Fatalf("inline image: cid %q size %d err %v", cid, size, err)
	}
}

func TestCustomerMessageReopensResolvedTicket(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.SetStatus(context.Background(), tk, ticket.AgentActor(f.mary), ticket.StatusResolved)
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(context.Background(), tk, ticket.Message{
			Kind: ticket.KindCustomer, Author: ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID, Email: tk.CustomerEmail},
			Body: "it is broken again",
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Get(context.Background(), tk.Number)
	if got.Status != ticket.StatusOpen || got.ResolvedAt != nil {
		t.Fatalf("after customer message: status %s resolved_at %v, want open and cleared", got.Status, got.ResolvedAt)
	}
	evs := f.events(t, tk)
	n := len(evs)
	if evs[n-2].Action != ticket.ActionCustomerMessage || evs[n-1].Action != ticket.ActionStatus ||
		evs[n-1].Old != "resolved" || evs[n-1].New != "open" {
		t.Fatalf("last events = %+v", evs[n-2:])
	}
}

func TestReplyAndNote(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	ctx := context.Background()
	for _, kind := range []ticket.MessageKind{ticket.KindReply, ticket.KindNote} {
		if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
			_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: kind, Author: ticket.AgentActor(f.ken),
				Body: "text of " + string(kind), MessageID: string(kind) + "@bank.example"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ev := lastEvent(t, f.events(t, tk))
		want := map[ticket.MessageKind]ticket.Action{ticket.KindReply: ticket.ActionReplied, ticket.KindNote: ticket.ActionNoted}[kind]
		if ev.Action != want || ev.Actor.Kind != ticket.ActorAgent || ev.Actor.ID != f.ken.ID || ev.MessageID == 0 {
			t.Fatalf("%s: event %+v", kind, ev)
		}
		var body, mkind string
		if err := f.store.Pool().QueryRow(ctx, `SELECT body, kind FROM messages WHERE id = $1`, ev.MessageID).
			Scan(&body, &mkind); err != nil || body != "text of "+string(kind) || mkind != string(kind) {
			t.Fatalf("%s: stored message %q kind %q err %v", kind, body, mkind, err)
		}
	}
	// A customer cannot write an internal note.
	err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindNote,
			Author: ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID}, Body: "sneaky"})
		return err
	})
	if !errors.Is(err, ticket.ErrNotAllowed) {
		t.Fatalf("customer note: err %v, want ErrNotAllowed", err)
	}
}

func TestAssign(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	ctx := context.Background()
	assign := func(id int64) error {
		return f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
			return tx.Assign(ctx, tk, ticket.AgentActor(f.ken), id)
		})
	}
	if err := assign(f.mary.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Get(ctx, tk.Number)
	if got.AssigneeID != f.mary.ID || got.AssigneeName != "Mary Major" {
		t.Fatalf("assignee %d %q", got.AssigneeID, got.AssigneeName)
	}
	ev := lastEvent(t, f.events(t, tk))
	if ev.Action != ticket.ActionAssigned || ev.Old != "" || ev.New != "Mary Major" {
		t.Fatalf("event %+v", ev)
	}
	before := len(f.events(t, tk))
	if err := assign(f.mary.ID); err != nil {
		t.Fatal(err)
	}
	if len(f.events(t, tk)) != before {
		t.Fatal("assigning the same agent again wrote an event")
	}
	if err := assign(0); err != nil {
		t.Fatal(err)
	}
	ev = lastEvent(t, f.events(t, tk))
	if ev.Old != "Mary Major" || ev.New != "" {
		t.Fatalf("unassign event %+v", ev)
	}
	if err := assign(999999); !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("unknown agent: err %v, want ErrNotFound", err)
	}
}

func TestTransferWithNote(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	ctx := context.Background()
	const note = "coordinating with sys admin team to address critical system outage"
	if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.Transfer(ctx, tk, ticket.AgentActor(f.ken), f.sys.ID, &ticket.Message{Author: ticket.AgentActor(f.ken), Body: note})
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Get(ctx, tk.Number)
	if got.DepartmentID != f.sys.ID {
		t.Fatalf("department %q after transfer", got.DepartmentName)
	}
	ev := lastEvent(t, f.events(t, tk))
	if ev.Action != ticket.ActionTransferred || ev.Old != "Help Desk" || ev.New != "System Administrators" ||
		ev.Detail != note || ev.MessageID == 0 {
		t.Fatalf("event %+v", ev)
	}
	var kind string
	if err := f.store.Pool().QueryRow(ctx, `SELECT kind FROM messages WHERE id = $1`, ev.MessageID).Scan(&kind); err != nil || kind != "note" {
		t.Fatalf("transfer note stored as %q (err %v), want an internal note", kind, err)
	}
	err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.Transfer(ctx, tk, ticket.AgentActor(f.ken), 424242, nil)
	})
	if !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("unknown department: %v", err)
	}
}

func TestSetPriority(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	ctx := context.Background()
	if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.SetPriority(ctx, tk, ticket.AgentActor(f.ken), ticket.PriorityHigh)
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.Get(ctx, tk.Number)
	ev := lastEvent(t, f.events(t, tk))
	if got.Priority != ticket.PriorityHigh || ev.Action != ticket.ActionPriority || ev.Old != "emergency" || ev.New != "high" {
		t.Fatalf("priority %s, event %+v", got.Priority, ev)
	}
	err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.SetPriority(ctx, tk, ticket.AgentActor(f.ken), "urgent")
	})
	if !errors.Is(err, ticket.ErrInvalid) {
		t.Fatalf("bad priority: %v", err)
	}
}

func TestSetStatusLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	ctx := context.Background()
	set := func(s ticket.Status) *ticket.Ticket {
		t.Helper()
		if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
			return tx.SetStatus(ctx, tk, ticket.AgentActor(f.mary), s)
		}); err != nil {
			t.Fatal(err)
		}
		got, _ := f.store.Get(ctx, tk.Number)
		ev := lastEvent(t, f.events(t, tk))
		if got.Status != s || ev.Action != ticket.ActionStatus || ev.New != string(s) {
			t.Fatalf("status %s, last event %+v, want %s", got.Status, ev, s)
		}
		return got
	}
	if got := set(ticket.StatusResolved); got.ResolvedAt == nil || got.ClosedAt != nil {
		t.Fatalf("resolved: resolved_at %v closed_at %v", got.ResolvedAt, got.ClosedAt)
	}
	if got := set(ticket.StatusClosed); got.ClosedAt == nil || got.ResolvedAt == nil {
		t.Fatalf("closed: resolved_at %v closed_at %v", got.ResolvedAt, got.ClosedAt)
	}
	if got := set(ticket.StatusOpen); got.ClosedAt != nil || got.ResolvedAt != nil {
		t.Fatalf("reopened: resolved_at %v closed_at %v", got.ResolvedAt, got.ClosedAt)
	}
}

func TestAddCollaborator(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	ctx := context.Background()
	add := func(c ticket.Contact) bool {
		t.Helper()
		var added bool
		if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
			var err error
			added, err = tx.AddCollaborator(ctx, tk, ticket.AgentActor(f.ken), c)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return added
	}
	if !add(ticket.Contact{Email: "Bob@User.COM", Name: "Bob"}) {
		t.Fatal("new collaborator not added")
	}
	if add(ticket.Contact{Email: "bob@user.com"}) {
		t.Fatal("same address added twice")
	}
	if add(ticket.Contact{Email: "JANE@user.com"}) {
		t.Fatal("the customer was added as a collaborator")
	}
	cs, err := ticket.Collaborators(ctx, f.store.Pool(), tk.ID)
	if err != nil || len(cs) != 1 || cs[0].Email != "Bob@user.com" || cs[0].Name != "Bob" {
		t.Fatalf("collaborators %+v err %v", cs, err)
	}
	ev := lastEvent(t, f.events(t, tk))
	if ev.Action != ticket.ActionCollaborator || ev.New != "Bob@user.com" {
		t.Fatalf("event %+v", ev)
	}
}

// A change that fails half way leaves nothing behind: no ticket, no event.
func TestFailedChangeRollsBack(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	boom := errors.New("boom")
	err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
		tk, _, err := tx.Open(ctx, ticket.NewTicket{Subject: "x", Customer: ticket.Contact{Email: "a@b.example"},
			DepartmentID: f.help.ID, Message: ticket.Message{Body: "x"}})
		if err != nil {
			return err
		}
		if err := tx.Assign(ctx, tk, ticket.AgentActor(f.ken), f.mary.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	var n int
	if err := f.store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM ticket_events)
		+ (SELECT count(*) FROM messages)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows left after rollback (err %v)", n, err)
	}
}

// The whole text of a message reads back as stored, whether or not it
// differs from the text the ticket shows.
func TestFullTextReadsBack(t *testing.T) {
	f := newFixture(t, nil)
	tk := f.open(t)
	ctx := context.Background()
	quoted := "the load balancer is back\n\nOn Fri, Jane wrote:\n> is it fixed?"
	for _, m := range []ticket.Message{
		{Body: "the load balancer is back", FullText: quoted},
		{Body: "no history here"},
		{Body: "same text", FullText: "same text"},
	} {
		m.Kind, m.Author = ticket.KindReply, ticket.AgentActor(f.ken)
		if err := f.change(t, tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
			_, err := tx.AddMessage(ctx, tk, m)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := f.store.History(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"the load balancer is back": quoted, "no history here": "no history here", "same text": "same text"}
	seen := 0
	for _, e := range h {
		if m := e.Message; m != nil && m.Kind == ticket.KindReply {
			seen++
			if m.FullText != want[m.Body] {
				t.Errorf("message %q: full text %q, want %q", m.Body, m.FullText, want[m.Body])
			}
		}
	}
	if seen != 3 {
		t.Fatalf("%d replies in the history, want 3", seen)
	}
}

// TestOpenCapsCollaborators: a mail's Cc adds at most the store's cap of
// collaborators (anyone can copy hundreds of strangers, and each would be
// mailed every reply); the others are listed in one internal note.
func TestOpenCapsCollaborators(t *testing.T) {
	f := newFixture(t, nil)
	f.store.SetMaxCollaborators(3)
	ctx := context.Background()
	cc := []ticket.Contact{{Email: "jane@user.com"}} // the customer herself takes no place
	for i := range 8 {
		cc = append(cc, ticket.Contact{Email: fmt.Sprintf("person%d@stranger.example", i)})
	}
	cc = append(cc, ticket.Contact{Email: "PERSON0@stranger.example"}) // the same address again
	var tk *ticket.Ticket
	err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(ctx, ticket.NewTicket{Subject: "spam", Customer: ticket.Contact{Email: "jane@user.com"},
			DepartmentID: f.help.ID, Message: ticket.Message{Body: "buy now"}, Collaborators: cc})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ticket.Collaborators(ctx, f.store.Pool(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.Email)
	}
	slices.Sort(got)
	if want := []string{"person0@stranger.example", "person1@stranger.example", "person2@stranger.example"}; !slices.Equal(got, want) {
		t.Errorf("collaborators %v, want %v", got, want)
	}
	hist, err := f.store.History(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range hist {
		if e.Message != nil && e.Message.Kind == ticket.KindNote {
			notes = append(notes, e.Message.Body)
		}
	}
	want := "Not added as collaborators (a ticket takes at most 3 from a mail's Cc): person3@stranger.example, " +
		"person4@stranger.example, person5@stranger.example, person6@stranger.example, person7@stranger.example"
	if len(notes) != 1 || notes[0] != want {
		t.Errorf("notes %q, want one: %q", notes, want)
	}
}
