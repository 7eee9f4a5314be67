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
		agent, err := store.ActiveAgent(ctx, *as)
		if err != nil {
			return a.fail("no active agent %q", *as)
		}
		actor = ticket.AgentActor(agent)
	}
	tk, err := store.Apply(ctx, number, actor, workOps(wc.name, arg, *note, *resolve)...)
	var refusal *ticket.Refusal
	switch {
	case errors.As(err, &refusal):
		return a.fail("%s", refusalWords(refusal))
	case errors.Is(err, ticket.ErrNotFound) && strings.Contains(err.Error(), "ticket "+number):
		return a.fail("no ticket numbered %s", number)
	case err != nil:
		return a.fail("%v", err)
	}
	fmt.Fprintf(a.stdout, "ticket %s: %s, %s, %s, assignee %s\n", tk.Number, tk.Status, tk.Priority, tk.DepartmentName,
		orNone(tk.AssigneeName))
	return 0
}

// workOps are the changes a ticket command asks for, made by the same door
// as an agent's mail commands.
func workOps(cmd, arg, note string, resolve bool) []ticket.Op {
	switch cmd {
	case "reply", "note":
		kind := ticket.OpReply
		if cmd == "note" {
			kind = ticket.OpNote
		}
		ops := []ticket.Op{{Kind: kind, Message: &ticket.Message{Body: strings.TrimSpace(arg)}}}
		if resolve {
			ops = append(ops, ticket.Op{Kind: ticket.OpStatus, Value: string(ticket.StatusResolved)})
		}
		return ops
	case "assign":
		if strings.EqualFold(arg, "none") {
			arg = ""
		}
		return []ticket.Op{{Kind: ticket.OpAssign, Value: arg}}
	case "transfer":
		var n *ticket.Message
		if strings.TrimSpace(note) != "" {
			n = &ticket.Message{Body: strings.TrimSpace(note)}
		}
		return []ticket.Op{{Kind: ticket.OpTransfer, Value: arg, Message: n}}
	case "status":
		return []ticket.Op{{Kind: ticket.OpStatus, Value: arg}}
	case "priority":
		return []ticket.Op{{Kind: ticket.OpPriority, Value: arg}}
	}
	return []ticket.Op{{Kind: ticket.OpKind(cmd)}}
}

// refusalWords says what was refused as the command line always has.
func refusalWords(r *ticket.Refusal) string {
	switch r.Op.Kind {
	case ticket.OpAssign:
		return fmt.Sprintf("no active agent %q", r.Op.Value)
	case ticket.OpTransfer:
		return fmt.Sprintf("no department %q", r.Op.Value)
	case ticket.OpReply, ticket.OpNote:
		return fmt.Sprintf("the %s has no text", r.Op.Kind)
	}
	return r.Error()
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
