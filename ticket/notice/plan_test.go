package notice_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/notice"
	"github.com/postdesk/postdesk/ticket/tickettest"
)

const (
	transferNote = "coordinating with sys admin team to address critical system outage"
	secretNote   = "the load balancer in rack 4 rebooted at 09:12; do not tell the customer yet"
	fixText      = "Hi Jane, we discovered a failed load balancer. The issue has been fixed and online systems should be working now"
)

// noNoteForCustomers fails when a customer notice carries an internal note.
func noNoteForCustomers(t *testing.T, got []notice.Notice) {
	t.Helper()
	for _, n := range got {
		if n.To.IsAgent() || n.Message == nil {
			continue
		}
		if n.Message.Kind == ticket.KindNote || strings.Contains(n.Message.Body, "rack 4") || strings.Contains(n.Note, transferNote) {
			t.Errorf("%s to %s carries an internal note: %+v", n.Template, n.To.Email, n.Message)
		}
	}
}

// TestScenario walks Jane's outage ticket through its life and checks who
// is told of each change, and what about (the mailer's TestScenario checks
// the mails themselves).
func TestScenario(t *testing.T) {
	f := newFixture(t, nil)
	ctx := f.ctx
	ken, mary := ticket.AgentActor(f.org.Ken), ticket.AgentActor(f.org.Mary)

	// 1. Jane's mail opens the ticket: she is acknowledged, Help Desk alerted.
	tk, got := f.open("jane-1@user.com")
	n := tk.Number
	wantTold(t, got, jane+" customer_ack", "ken.jay@bank.example agent_new_ticket", "helpdesk@bank.example agent_new_ticket")
	ack := to(t, got, jane)
	if !ack.Automatic || !ack.AnswersMail || ack.Message == nil || ack.Message.MessageID != "jane-1@user.com" ||
		ack.To.Kind != notice.KindCustomer || ack.To.ID != tk.CustomerID {
		t.Errorf("acknowledgement: %+v", ack)
	}
	alert := to(t, got, "ken.jay@bank.example")
	if alert.To.Kind != notice.KindAgent || alert.To.ID != f.org.Ken.ID || !bytes.Equal(alert.To.Secret, f.org.Ken.Secret) ||
		!alert.Automatic || alert.AnswersMail || alert.Attach || alert.Message == nil {
		t.Errorf("new-ticket alert: %+v", alert)
	}
	if d := to(t, got, "helpdesk@bank.example"); d.To.Kind != notice.KindDepartment || d.To.ID != 0 {
		t.Errorf("department address: %+v", d.To)
	}

	// 2. Ken transfers with a note: System Administrators hear of it with the
	// note; Jane hears nothing; Ken is not told of his own action.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.Transfer(ctx, tk, ken, f.org.SysAdm.ID, &ticket.Message{Body: transferNote, Author: ken})
	})
	wantTold(t, got, "mary@bank.example agent_transfer", "sysadmins@bank.example agent_transfer")
	if tr := to(t, got, "mary@bank.example"); tr.Note != transferNote || tr.Previous != "Help Desk" || tr.Actor.ID != f.org.Ken.ID {
		t.Errorf("transfer notice: note %q previous %q actor %+v", tr.Note, tr.Previous, tr.Actor)
	}

	// 3. Jane writes again: nobody has the ticket, so its department hears.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindCustomer, Body: "still down, customers are angry",
			MessageID: "jane-2@user.com", Author: ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID, Name: "Jane Doe", Email: jane}})
		return err
	})
	wantTold(t, got, "mary@bank.example agent_new_message", "sysadmins@bank.example agent_new_message")
	if nm := to(t, got, "mary@bank.example"); nm.Message == nil || nm.Message.Body != "still down, customers are angry" {
		t.Errorf("new-message alert: %+v", nm.Message)
	}

	// 4. Ken assigns it to Mary: only Mary is told.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error { return tx.Assign(ctx, tk, ken, f.org.Mary.ID) })
	wantTold(t, got, "mary@bank.example agent_assigned")

	// 5. Mary writes an internal note: her department's address is told,
	// she is not (her own action), Jane never is.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: secretNote, Author: mary})
		return err
	})
	wantTold(t, got, "sysadmins@bank.example agent_note")

	// 6. Mary answers Jane: a human reply, with its files.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "We are on it.", Author: mary})
		return err
	})
	wantTold(t, got, jane+" customer_reply")
	if rp := to(t, got, jane); rp.Automatic || !rp.Attach || rp.Message == nil || rp.Message.Body != "We are on it." {
		t.Errorf("reply: %+v", rp)
	}

	// 7. Mary resolves with a last reply: Jane gets ONE notice, the
	// resolution carrying the reply; Ken, who worked the ticket, hears that
	// Mary resolved it.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if _, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: fixText, Author: mary}); err != nil {
			return err
		}
		return tx.SetStatus(ctx, tk, mary, ticket.StatusResolved)
	})
	wantTold(t, got, jane+" customer_resolved", "ken.jay@bank.example agent_resolved")
	if res := to(t, got, jane); res.Automatic || res.Message == nil || res.Message.Body != fixText {
		t.Errorf("resolution: %+v", res)
	}
	if kr := to(t, got, "ken.jay@bank.example"); kr.Actor.ID != f.org.Mary.ID || kr.Message == nil || kr.Message.Body != fixText {
		t.Errorf("agent resolution notice: %+v", kr)
	}

	// 8. Closing tells nobody by default.
	got = f.step(n, func(tx *ticket.Tx, tk *ticket.Ticket) error { return tx.SetStatus(ctx, tk, mary, ticket.StatusClosed) })
	wantTold(t, got)

	for _, ns := range f.rec.planned {
		noNoteForCustomers(t, ns)
	}
}

// TestOwnActionsAndNotes: nobody is told of their own action; customers
// never receive internal notes.
func TestOwnActionsAndNotes(t *testing.T) {
	f := newFixture(t, nil)
	ken := ticket.AgentActor(f.org.Ken)
	var tk *ticket.Ticket
	// Ken opens a ticket on the phone for Jane: Jane is acknowledged (that is
	// how she learns the token), Help Desk's address is alerted, Ken is not.
	got := f.inTx(func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(f.ctx, ticket.NewTicket{Subject: "card blocked", Customer: ticket.Contact{Email: jane},
			DepartmentID: f.org.Help.ID, MailboxID: f.org.Support.ID, Message: ticket.Message{Body: "called in: card blocked", Author: ken}})
		return err
	})
	wantTold(t, got, jane+" customer_ack", "helpdesk@bank.example agent_new_ticket")

	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error { return tx.Assign(f.ctx, tk, ken, f.org.Ken.ID) })
	wantTold(t, got)

	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: secretNote, Author: ken})
		return err
	})
	wantTold(t, got, "helpdesk@bank.example agent_note")

	// Mary notes on Ken's ticket: Ken (assignee) and Help Desk hear it,
	// Mary does not, Jane does not.
	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: secretNote, Author: ticket.AgentActor(f.org.Mary)})
		return err
	})
	wantTold(t, got, "ken.jay@bank.example agent_note", "helpdesk@bank.example agent_note")

	// A note and a resolution in one change: the customer gets the
	// resolution, never the note.
	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if _, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: secretNote, Author: ken}); err != nil {
			return err
		}
		return tx.SetStatus(f.ctx, tk, ken, ticket.StatusResolved)
	})
	// Mary wrote a note: she worked the ticket and hears of its resolution.
	wantTold(t, got, jane+" customer_resolved", "mary@bank.example agent_resolved", "helpdesk@bank.example agent_note")
	noNoteForCustomers(t, got)
	if mr := to(t, got, "mary@bank.example"); mr.Message == nil || mr.Message.Body != secretNote || mr.Actor.ID != f.org.Ken.ID {
		t.Errorf("agent resolution notice: %+v", mr)
	}
}

func TestCustomerSideRules(t *testing.T) {
	sw := notice.DefaultSwitches()
	sw.CustomerAck, sw.CustomerClosed = false, true
	f := newFixture(t, map[string]notice.Switches{"help desk": sw})
	mary := ticket.AgentActor(f.org.Mary)
	var tk *ticket.Ticket
	got := f.inTx(func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(f.ctx, ticket.NewTicket{Subject: "statement missing", Customer: ticket.Contact{Email: jane, Name: "Jane Doe"},
			DepartmentID: f.org.Help.ID, MailboxID: f.org.Support.ID, Message: ticket.Message{Body: "where is my statement", MessageID: "jane-9@user.com"},
			// A Cc of our own mailbox must never be mailed: it would come back in.
			Collaborators: []ticket.Contact{{Email: "Bob@User.com", Name: "Bob"}, {Email: "outage+x@bank.example"}}})
		return err
	})
	// The acknowledgement is switched off for Help Desk; agents still hear.
	wantTold(t, got, "ken.jay@bank.example agent_new_ticket", "helpdesk@bank.example agent_new_ticket")

	// A reply goes to the customer and each collaborator, each with the id
	// their signed reply address needs.
	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "it is on its way", Author: mary})
		return err
	})
	wantTold(t, got, jane+" customer_reply", "bob@user.com customer_reply")
	if bob := to(t, got, "bob@user.com"); bob.To.Kind != notice.KindCollaborator || bob.To.ID == 0 || bob.To.ID == tk.CustomerID {
		t.Errorf("collaborator: %+v", bob.To)
	}

	// Quiet (caused by an auto-reply, or an admin's silent change): no
	// customer hears anything, agents still do.
	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		tx.Quiet()
		if _, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "silent", Author: mary}); err != nil {
			return err
		}
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindCustomer, Body: "auto: out of office",
			Author: ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID, Email: jane}})
		return err
	})
	wantTold(t, got, "ken.jay@bank.example agent_new_message", "helpdesk@bank.example agent_new_message")

	// Assigned, the ticket's customer messages go to the assignee only.
	f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.Assign(f.ctx, tk, ticket.AgentActor(f.org.Ken), f.org.Mary.ID)
	})
	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindCustomer, Body: "thanks!",
			Author: ticket.Actor{Kind: ticket.ActorCustomer, ID: tk.CustomerID, Email: jane}})
		return err
	})
	wantTold(t, got, "mary@bank.example agent_new_message")

	// Closing notice, switched on for Help Desk: automatic, to both.
	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.SetStatus(f.ctx, tk, mary, ticket.StatusClosed)
	})
	wantTold(t, got, jane+" customer_closed", "bob@user.com customer_closed")
	if c := to(t, got, jane); !c.Automatic || c.AnswersMail {
		t.Errorf("closing notice: automatic %v, answers mail %v", c.Automatic, c.AnswersMail)
	}
}

// TestOneNoticePerAgent: an agent told of several changes of one
// transaction gets one notice, about the most important one, listing all.
func TestOneNoticePerAgent(t *testing.T) {
	f := newFixture(t, nil)
	tk, _ := f.open("jane-1@user.com")
	ken := ticket.AgentActor(f.org.Ken)
	got := f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		if err := tx.SetPriority(f.ctx, tk, ken, ticket.PriorityHigh); err != nil {
			return err
		}
		if _, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindNote, Body: "first note", Author: ken}); err != nil {
			return err
		}
		return tx.Transfer(f.ctx, tk, ken, f.org.SysAdm.ID, &ticket.Message{Body: transferNote, Author: ken})
	})
	// The note went out while Help Desk had the ticket: the notes reach the
	// department the ticket ends in, and the transfer outranks them.
	wantTold(t, got, "mary@bank.example agent_transfer", "sysadmins@bank.example agent_transfer")
	tr := to(t, got, "mary@bank.example")
	var fields []string
	for _, c := range tr.Changes {
		fields = append(fields, c.Field)
	}
	if strings.Join(fields, ",") != "Priority,Department" {
		t.Errorf("changes listed: %v", tr.Changes)
	}
}

// TestAgentAnswers: the answers to an agent's own mail go to the agent,
// threaded under their mail, and never to one of our mailboxes.
func TestAgentAnswers(t *testing.T) {
	f := newFixture(t, nil)
	tk, _ := f.open("jane-1@user.com")
	sent := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	got := f.inTx(func(tx *ticket.Tx) error {
		if err := tx.Answer(f.ctx, ticket.AgentAnswer{Kind: ticket.AnswerCommandError, Ticket: tk, Agent: f.org.Ken,
			Subject: "Re: down", MessageID: "ken-7@bank.example", Date: sent, Error: "no such department"}); err != nil {
			return err
		}
		return tx.Answer(f.ctx, ticket.AgentAnswer{Kind: ticket.AnswerUnauthenticated, Agent: f.org.Ken, Mailbox: "outage@bank.example",
			Subject: "#close everything", MessageID: "forged-1@elsewhere.example", Error: "no proof"})
	})
	wantTold(t, got, "ken.jay@bank.example agent_command_error", "ken.jay@bank.example agent_unauthenticated")
	ce := got[0]
	if ce.Ticket == nil || ce.Ticket.ID != tk.ID || !ce.Direct || !ce.Automatic || !ce.AnswersMail || ce.InReplyTo != "ken-7@bank.example" ||
		ce.Original.Subject != "Re: down" || !ce.Original.Date.Equal(sent) || ce.Error != "no such department" ||
		ce.To.Kind != notice.KindAgent || ce.To.ID != f.org.Ken.ID || ce.Actor.Kind != ticket.ActorSystem {
		t.Errorf("command error answer: %+v", ce)
	}
	if un := got[1]; un.Ticket != nil || un.Mailbox != "outage@bank.example" {
		t.Errorf("unauthenticated answer: %+v", un)
	}

	for _, a := range []ticket.AgentAnswer{
		{Kind: "customer_ack", Agent: f.org.Ken},
		{Kind: ticket.AnswerCommandError},
		{Kind: ticket.AnswerCommandError, Agent: ticket.Agent{Email: "Support+x@bank.example"}},
	} {
		err := f.org.Store.InTx(f.ctx, func(tx *ticket.Tx) error { return tx.Answer(f.ctx, a) })
		if err == nil {
			t.Errorf("answer %+v accepted", a)
		}
	}
}

// TestEarlierAssigneeHearsAfterRename: an agent once assigned worked the
// ticket and hears of its resolution, also after an admin renamed her: the
// assignment events name her by id, not by the name she had then.
func TestEarlierAssigneeHearsAfterRename(t *testing.T) {
	f := newFixture(t, nil)
	ken := ticket.AgentActor(f.org.Ken)
	tk, _ := f.open("jane-rename@user.com")
	f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error { return tx.Assign(f.ctx, tk, ken, f.org.Mary.ID) })
	f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error { return tx.Assign(f.ctx, tk, ken, f.org.Ken.ID) })

	org := tickettest.ScenarioOrg()
	for i := range org.Agents {
		if org.Agents[i].Username == "mary" {
			org.Agents[i].Name = "Mary Minor"
		}
	}
	if err := f.org.Store.SyncOrg(f.ctx, org); err != nil {
		t.Fatal(err)
	}

	got := f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		return tx.SetStatus(f.ctx, tk, ken, ticket.StatusResolved)
	})
	if mary := to(t, got, "mary@bank.example"); mary.Template != "agent_resolved" || mary.To.Name != "Mary Minor" {
		t.Errorf("the earlier assignee is told %s as %q, want agent_resolved as Mary Minor", mary.Template, mary.To.Name)
	}
}

// TestAckGoesToSenderOnly: a mail copying strangers is acknowledged to its
// sender alone (one mail naming 200 addresses made 200 acknowledgements
// quoting its text); the people copied hear of the replies that follow.
func TestAckGoesToSenderOnly(t *testing.T) {
	f := newFixture(t, nil)
	var tk *ticket.Ticket
	got := f.inTx(func(tx *ticket.Tx) error {
		var err error
		tk, _, err = tx.Open(f.ctx, ticket.NewTicket{Subject: "card declined", Customer: ticket.Contact{Email: jane},
			DepartmentID: f.org.Help.ID, MailboxID: f.org.Support.ID, Message: ticket.Message{Body: "buy cheap pills", MessageID: "jane-cc@user.com"},
			Collaborators: []ticket.Contact{{Email: "bob@user.com"}, {Email: "carol@stranger.example"}}})
		return err
	})
	wantTold(t, got, jane+" customer_ack", "ken.jay@bank.example agent_new_ticket", "helpdesk@bank.example agent_new_ticket")

	got = f.step(tk.Number, func(tx *ticket.Tx, tk *ticket.Ticket) error {
		_, err := tx.AddMessage(f.ctx, tk, ticket.Message{Kind: ticket.KindReply, Body: "we are on it", Author: ticket.AgentActor(f.org.Ken)})
		return err
	})
	wantTold(t, got, jane+" customer_reply", "bob@user.com customer_reply", "carol@stranger.example customer_reply")
}
