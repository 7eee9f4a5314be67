package ticket_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postdesk/postdesk/ticket"
)

// TestOutboxLifeOfANotice follows notices through the outbox API: queued
// in a change's transaction, seen in the recipient's thread, claimed once,
// rendered, marked, counted, and found again by a reply or a bounce.
func TestOutboxLifeOfANotice(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tk := f.open(t)
	mail := func(id, to string, suppressed string) ticket.Outgoing {
		return ticket.Outgoing{TicketID: tk.ID, MessageID: id, Template: "customer_reply", Recipient: to,
			RecipientKind: "customer", From: "support@bank.example", Subject: "Re: down", Automatic: true,
			Draft: []byte(`{}`), Suppressed: suppressed}
	}
	// A failing change leaves no notice.
	_ = f.store.InTx(ctx, func(tx *ticket.Tx) error {
		if err := tx.Enqueue(ctx, []ticket.Outgoing{mail("gone@pd", "jane@user.com", "")}); err != nil {
			t.Fatal(err)
		}
		return context.Canceled
	})
	err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
		return tx.Enqueue(ctx, []ticket.Outgoing{mail("n1@pd", "jane@user.com", ""), mail("n2@pd", "Jane@User.com", "too many"),
			mail("n3@pd", "bob@user.com", "")})
	})
	if err != nil {
		t.Fatal(err)
	}

	ids, err := f.store.ThreadIDs(ctx, tk.ID, "JANE@user.com")
	if err != nil {
		t.Fatal(err)
	}
	// The ticket's first message, then the pending notice; not the suppressed one.
	if want := []string{"jane-1@user.com", "n1@pd"}; !slices.Equal(ids, want) {
		t.Errorf("thread %v, want %v", ids, want)
	}
	err = f.store.InTx(ctx, func(tx *ticket.Tx) error {
		h, err := tx.OutboxHistory(ctx, []ticket.ThreadKey{{TicketID: tk.ID, Addr: "jane@user.com"}, {TicketID: tk.ID, Addr: "carl@user.com"}},
			[]string{"Jane@user.com", "carl@user.com"})
		if err != nil {
			return err
		}
		if !slices.Equal(h.Threads[0], ids) || !slices.Equal(h.Threads[1], []string{"jane-1@user.com"}) {
			t.Errorf("threads %v", h.Threads)
		}
		if h.Recent["jane@user.com"] != 1 || h.Recent["carl@user.com"] != 0 {
			t.Errorf("recent automatic mail %v", h.Recent)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Claimed once: a second claim within the lease finds nothing.
	var claimed []ticket.QueuedMail
	err = f.store.InTx(ctx, func(tx *ticket.Tx) error {
		var err error
		if claimed, err = tx.ClaimMails(ctx, 10, time.Minute); err != nil {
			return err
		}
		var rowIDs []int64
		var raws [][]byte
		for _, c := range claimed {
			rowIDs, raws = append(rowIDs, c.ID), append(raws, []byte("raw "+c.MessageID))
		}
		return tx.StoreRendered(ctx, rowIDs, raws)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 || claimed[0].MessageID != "n1@pd" || claimed[0].Number != tk.Number || claimed[0].Draft == nil {
		t.Fatalf("claimed %+v", claimed)
	}
	err = f.store.InTx(ctx, func(tx *ticket.Tx) error {
		again, err := tx.ClaimMails(ctx, 10, time.Minute)
		if len(again) != 0 {
			t.Errorf("claimed again within the lease: %+v", again)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.store.NextMailDue(ctx); err != nil || !ok {
		t.Errorf("next due: ok %v, %v", ok, err)
	}

	if err := f.store.MarkSent(ctx, claimed[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.store.MarkRetry(ctx, claimed[1].ID, 1, "451 try later", 0); err != nil {
		t.Fatal(err)
	}
	if err := f.store.ReleaseMails(ctx, []int64{claimed[1].ID}); err != nil {
		t.Fatal(err)
	}
	err = f.store.InTx(ctx, func(tx *ticket.Tx) error {
		again, err := tx.ClaimMails(ctx, 10, time.Minute)
		if len(again) != 1 || again[0].ID != claimed[1].ID || string(again[0].Raw) != "raw n3@pd" || again[0].Attempts != 1 {
			t.Errorf("after a retry: %+v", again)
		}
		if err == nil {
			err = tx.MarkFailed(ctx, claimed[1].ID, "550 no such user")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	st, err := ticket.ReadOutboxStats(ctx, f.store.Pool())
	if err != nil {
		t.Fatal(err)
	}
	if st.ByState["sent"] != 1 || st.ByState["failed"] != 1 || st.ByState["suppressed"] != 1 || st.ByState["pending"] != 0 ||
		st.Retries != 1 || st.OldestPending != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestMarkSentIsDurableAndOnce: a sent mark commits synchronously even on
// a connection whose commit mode is asynchronous (a trigger notes the mode
// in force in the mark's transaction), a deferred one is rescheduled, and
// either, repeated once the notice is no longer pending, changes nothing.
func TestMarkSentIsDurableAndOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tk := f.open(t)
	pc, err := pgxpool.ParseConfig(f.store.Pool().Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	pc.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	async, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(async.Close)
	store := ticket.NewStore(async, ticket.DefaultNumbering(), nil)
	if _, err := async.Exec(ctx, `
		CREATE TABLE mark_modes (id bigint, state text, mode text);
		CREATE FUNCTION note_mode() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO mark_modes VALUES (NEW.id, NEW.state, current_setting('synchronous_commit'));
			RETURN NEW;
		END $$;
		CREATE TRIGGER note_mode AFTER UPDATE ON outbound_mails FOR EACH ROW EXECUTE FUNCTION note_mode();`); err != nil {
		t.Fatal(err)
	}
	if err := f.store.InTx(ctx, func(tx *ticket.Tx) error {
		return tx.Enqueue(ctx, []ticket.Outgoing{
			{TicketID: tk.ID, MessageID: "s1@pd", Template: "customer_reply", Recipient: "jane@user.com", RecipientKind: "customer",
				From: "support@bank.example", Raw: []byte("raw")},
			{TicketID: tk.ID, MessageID: "s2@pd", Template: "customer_reply", Recipient: "bob@user.com", RecipientKind: "customer",
				From: "support@bank.example", Raw: []byte("raw")}})
	}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	rows, _ := f.store.Pool().Query(ctx, `SELECT message_id, id FROM outbound_mails`)
	for rows.Next() {
		var m string
		var id int64
		if err := rows.Scan(&m, &id); err != nil {
			t.Fatal(err)
		}
		ids[m] = id
	}
	if rows.Err() != nil || len(ids) != 2 {
		t.Fatalf("notices %v: %v", ids, rows.Err())
	}
	for range 2 { // the second time as after a lost reply to the first
		if err := store.MarkSent(ctx, ids["s1@pd"]); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkRetry(ctx, ids["s2@pd"], 1, "451 later", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.InTx(ctx, func(tx *ticket.Tx) error { return tx.MarkFailed(ctx, ids["s2@pd"], "550 gone") }); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkRetry(ctx, ids["s2@pd"], 2, "451 later", time.Hour); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, _ = f.store.Pool().Query(ctx, `
		SELECT message_id || ' ' || state || ' ' || attempts || ' ' || last_error FROM outbound_mails ORDER BY id`)
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if want := []string{"s1@pd sent 1 ", "s2@pd failed 2 550 gone"}; !slices.Equal(got, want) {
		t.Errorf("notices %q, want %q", got, want)
	}
	var modes []string
	rows, _ = f.store.Pool().Query(ctx, `SELECT m.state || ' ' || m.mode FROM mark_modes m JOIN outbound_mails o USING (id)
		WHERE o.message_id = 's1@pd'`)
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		modes = append(modes, s)
	}
	if want := []string{"sent on"}; !slices.Equal(modes, want) {
		t.Errorf("sent marks' commit modes %q, want %q: once, synchronously", modes, want)
	}
}
