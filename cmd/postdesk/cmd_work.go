package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/ticket"
)

// workUsage lists the ticket commands that change a ticket.
const workUsage = `       postdesk ticket reply NUMBER --as AGENT [--resolve] TEXT|-
       postdesk ticket note NUMBER --as AGENT TEXT|-
       postdesk ticket assign NUMBER AGENT|none [--as AGENT]
       postdesk ticket transfer NUMBER DEPARTMENT [--note TEXT] [--as AGENT]
       postdesk ticket status NUMBER open|resolved|closed [--as AGENT]
       postdesk ticket priority NUMBER low|normal|high|emergency [--as AGENT]`

// workCommand is one ticket change from the command line.
type workCommand struct {
	name, args, summary string
	nargs               int  // positional arguments after NUMBER
	text                bool // the last positional argument is a text, "-" for standard input
	needAgent           bool
}

var workCommands = map[string]workCommand{
	"reply":    {"reply", "NUMBER TEXT|-", "Send a public reply to the customer, as an agent.", 1, true, true},
	"note":     {"note", "NUMBER TEXT|-", "Add an internal note, as an agent.", 1, true, true},
	"assign":   {"assign", "NUMBER AGENT|none", "Assign the ticket to an agent (username, name or email), or unassign it.", 1, false, false},
	"transfer": {"transfer", "NUMBER DEPARTMENT", "Move the ticket to another department.", 1, false, false},
	"status":   {"status", "NUMBER open|resolved|closed", "Resolve, close or reopen the ticket.", 1, false, false},
	"priority": {"priority", "NUMBER low|normal|high|emergency", "Change the ticket's priority.", 1, false, false},
}

// ticketWork changes a ticket as an agent would by mail, in one
// transaction with the same notices.
func ticketWork(ctx context.Context, a *app, wc workCommand, args []string) int {
	fs := a.flags("ticket "+wc.name, wc.args, wc.summary+" The same notices go out as when it is done by mail;\n"+
		"a running 'postdesk serve' delivers them.")
	as := fs.String("as", "", "act as this `agent` (username, name or email)")
	resolve, note := new(bool), new(string)
	if wc.name == "reply" {
		fs.BoolVar(resolve, "resolve", false, "resolve the ticket with this reply")
	}
	if wc.name == "transfer" {
		fs.StringVar(note, "note", "", "an internal `note` that travels with the transfer notice")
	}
	if !a.parse(fs, args) {
		return 2
	}
	if fs.NArg() != 1+wc.nargs {
		fs.Usage()
		return 2
	}
	if wc.needAgent && *as == "" {
		return a.fail("ticket %s needs --as AGENT: replies and notes have an author", wc.name)
	}
	number, arg := fs.Arg(0), fs.Arg(1)
	if wc.text {
		text, err := readText(a, arg)
		if err != nil {
			return a.fail("%v", err)
		}
		arg = text
	}
	store, _, err := a.openWorkStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	actor := ticket.System("admin (postdesk CLI)")
	if *as != "" {
		agent, err := ticket.FindAgent(ctx, store.Pool(), *as)
		if err != nil || !agent.Active {
			return a.fail("no active agent %q", *as)
		}
		actor = ticket.AgentActor(agent)
	}
	err = store.InTx(ctx, func(tx *ticket.Tx) error {
		tk, err := tx.LockNumber(ctx, number)
		if err != nil {
			return err
		}
		return applyWork(ctx, tx, tk, actor, wc.name, arg, *note, *resolve)
	})
	switch {
	case errors.Is(err, ticket.ErrNotFound) && strings.Contains(err.Error(), "ticket "+number):
		return a.fail("no ticket numbered %s", number)
	case err != nil:
		return a.fail("%v", err)
	}
	tk, err := store.Get(ctx, number)
	if err != nil {
		return a.fail("%v", err)
	}
	fmt.Fprintf(a.stdout, "ticket %s: %s, %s, %s, assignee %s\n", tk.Number, tk.Status, tk.Priority, tk.DepartmentName,
		orNone(tk.AssigneeName))
	return 0
}

func applyWork(ctx context.Context, tx *ticket.Tx, tk *ticket.Ticket, actor ticket.Actor, cmd, arg, note string, resolve bool) error {
	db := tx.DB()
	switch cmd {
	case "reply", "note":
		kind := ticket.KindReply
		if cmd == "note" {
			kind = ticket.KindNote
		}
		if strings.TrimSpace(arg) == "" {
			return fmt.Errorf("%w: the %s has no text", ticket.ErrInvalid, cmd)
		}
		if _, err := tx.AddMessage(ctx, tk, ticket.Message{Kind: kind, Author: actor, Body: strings.TrimSpace(arg)}); err != nil {
			return err
		}
		if resolve {
			return tx.SetStatus(ctx, tk, actor, ticket.StatusResolved)
		}
		return nil
	case "assign":
		if strings.EqualFold(arg, "none") {
			return tx.Assign(ctx, tk, actor, 0)
		}
		agent, err := ticket.FindAgent(ctx, db, arg)
		if err != nil || !agent.Active {
			return fmt.Errorf("%w: no active agent %q", ticket.ErrNotFound, arg)
		}
		return tx.Assign(ctx, tk, actor, agent.ID)
	case "transfer":
		dep, err := ticket.FindDepartment(ctx, db, arg)
		if err != nil || !dep.Active {
			return fmt.Errorf("%w: no department %q", ticket.ErrNotFound, arg)
		}
		var n *ticket.Message
		if strings.TrimSpace(note) != "" {
			n = &ticket.Message{Kind: ticket.KindNote, Author: actor, Body: strings.TrimSpace(note)}
		}
		return tx.Transfer(ctx, tk, actor, dep.ID, n)
	case "status":
		s, err := ticket.ParseStatus(arg)
		if err != nil {
			return err
		}
		return tx.SetStatus(ctx, tk, actor, s)
	case "priority":
		p, err := ticket.ParsePriority(arg)
		if err != nil {
			return err
		}
		return tx.SetPriority(ctx, tk, actor, p)
	}
	return fmt.Errorf("unknown ticket command %q", cmd)
}

// readText returns arg, or standard input when arg is "-".
func readText(a *app, arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(a.stdin())
	if err != nil {
		return "", fmt.Errorf("reading the text from standard input: %w", err)
	}
	return string(b), nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// openWorkStore is openStore with the mailer's notifier installed, so that
// changes queue their notices.
func (a *app) openWorkStore(ctx context.Context) (*ticket.Store, *mailer.Notifier, error) {
	store, cfg, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	set, err := loadTemplates(cfg)
	if err != nil {
		store.Pool().Close()
		return nil, nil, fmt.Errorf("templates: %w", err)
	}
	opts, err := mailerOptions(cfg, set, nil)
	if err != nil {
		store.Pool().Close()
		return nil, nil, err
	}
	n, err := mailer.NewNotifier(opts, store.Numbering())
	if err != nil {
		store.Pool().Close()
		return nil, nil, err
	}
	store.SetNotifier(n)
	return store, n, nil
}
