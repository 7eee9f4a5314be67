package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/ticket"
)

// commands are the lines at the very top of an agent's mail.
type commands struct {
	note     bool
	transfer string
	assign   string
	status   ticket.Status
	priority ticket.Priority
	cc       []string
	customer string
	any      bool
}

// parseCommands reads command lines from the top of text and returns them
// with the text that follows. Blank lines before the first command are
// skipped; the first line that is not a command ends the list.
func parseCommands(text string) (commands, string, error) {
	var c commands
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" && !c.any {
			continue
		}
		if !strings.HasPrefix(line, "#") || len(line) < 2 || line[1] == ' ' || line[1] == '#' {
			break
		}
		name, arg, _ := strings.Cut(line[1:], " ")
		name, arg = strings.ToLower(strings.TrimRight(name, ":")), strings.TrimSpace(arg)
		if err := c.add(name, arg); err != nil {
			return c, "", err
		}
		c.any = true
	}
	return c, strings.TrimSpace(strings.Join(lines[i:], "\n")), nil
}

func (c *commands) add(name, arg string) error {
	needArg := func(what string) error {
		if arg == "" {
			return fmt.Errorf("#%s needs %s", name, what)
		}
		return nil
	}
	setStatus := func(s ticket.Status) error {
		if c.status != "" && c.status != s {
			return fmt.Errorf("conflicting status commands: %s and %s", c.status, s)
		}
		c.status = s
		return nil
	}
	switch name {
	case "note":
		c.note = true
	case "transfer":
		if err := needArg("a department name, e.g. #transfer System Administrators"); err != nil {
			return err
		}
		c.transfer = arg
	case "assign":
		if err := needArg("an agent's username, name or email, e.g. #assign mary"); err != nil {
			return err
		}
		c.assign = arg
	case "status":
		if err := needArg("open, resolved or closed"); err != nil {
			return err
		}
		s, err := ticket.ParseStatus(arg)
		if err != nil {
			return fmt.Errorf("#status %s: unknown status (use open, resolved or closed)", arg)
		}
		return setStatus(s)
	case "resolve", "resolved":
		return setStatus(ticket.StatusResolved)
	case "close", "closed":
		return setStatus(ticket.StatusClosed)
	case "reopen", "open":
		return setStatus(ticket.StatusOpen)
	case "priority":
		if err := needArg("low, normal, high or emergency"); err != nil {
			return err
		}
		p, err := ticket.ParsePriority(arg)
		if err != nil {
			return fmt.Errorf("#priority %s: unknown priority (use low, normal, high or emergency)", arg)
		}
		c.priority = p
	case "cc":
		if err := needArg("an email address"); err != nil {
			return err
		}
		for _, a := range strings.FieldsFunc(arg, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
			addr, err := ticket.NormalizeEmail(a)
			if err != nil {
				return fmt.Errorf("#cc %s: not an email address", a)
			}
			c.cc = append(c.cc, addr)
		}
	case "customer":
		if err := needArg("the customer's email address"); err != nil {
			return err
		}
		c.customer = arg
	default:
		return fmt.Errorf("unknown command #%s (known: #note, #transfer, #assign, #status, #resolve, #close, "+
			"#reopen, #priority, #cc, #customer)", name)
	}
	return nil
}

// agentMail applies an authenticated agent's mail: its commands and its
// text together through the ticket's one door, or, when any command is
// wrong, nothing at all.
func (d *delivery) agentMail(ctx context.Context, tk *ticket.Ticket, agent ticket.Agent, how string) (Result, error) {
	cmds, text, perr := parseCommands(d.replyText())
	if perr != nil {
		return d.refuse(ctx, tk, agent, perr.Error())
	}
	if cmds.customer != "" {
		return d.refuse(ctx, tk, agent, fmt.Sprintf("#customer opens a new ticket: send it to a mailbox address, "+
			"not as a reply to ticket %s", tk.Number))
	}
	if !cmds.any && text == "" {
		d.res.Outcome, d.res.Reason = OutcomeIgnored, "empty reply from "+agent.Email
		return d.res, d.finish(ctx, tk.ID)
	}
	err := d.tx.Apply(ctx, tk, ticket.AgentActor(agent), d.ops(cmds, text)...)
	var refusal *ticket.Refusal
	if errors.As(err, &refusal) {
		return d.refuse(ctx, tk, agent, "#"+refusal.Error())
	}
	if err != nil {
		return d.res, err
	}
	d.res.Outcome, d.res.Reason = OutcomeFollowUp, "agent "+agent.Email+" authenticated by "+how
	return d.res, d.finish(ctx, tk.ID)
}

// unverifiedMail keeps a mail from agent's address that proves nothing: it
// is not the agent's, whoever wrote it. None of its commands runs and it
// changes nothing, not even a resolved ticket's status; it is kept for the
// agents only, flagged as from an unverified sender claiming to be the
// agent (or, by policy, in quarantine). The agent is told at their real
// address: if they wrote it, they learn why nothing ran; if someone else
// did, they learn of the attempt.
func (d *delivery) unverifiedMail(ctx context.Context, tk *ticket.Ticket, agent ticket.Agent) (Result, error) {
	text := d.replyText()
	cmds, _, perr := parseCommands(text)
	withCommands := cmds.any || perr != nil
	quarantine := d.p.opts.AgentMail.Quarantine
	var fate string
	switch {
	case quarantine && withCommands:
		fate = "none of its commands ran; kept in quarantine"
	case quarantine:
		fate = "kept in quarantine"
	case withCommands:
		fate = "none of its commands ran; kept on the ticket for agents only, flagged, changing nothing"
	default:
		fate = "kept on the ticket for agents only, flagged, changing nothing"
	}
	proof := "not sent to the agent's signed reply address for this ticket, no trusted DKIM/SPF pass, " +
		"no valid DKIM signature of the agent's domain"
	why := fmt.Sprintf("mail from agent address %s could not be authenticated (%s): %s", agent.Email, proof, fate)
	detail := "could not be authenticated: " + proof + "; " + fate
	actor := ticket.Unverified(agent)
	if quarantine {
		if _, err := d.tx.Record(ctx, tk, ticket.Event{Actor: actor, Action: ticket.ActionUnverifiedMail,
			New: agent.Email, Detail: detail}); err != nil {
			return d.res, err
		}
	} else {
		msg := d.message(ticket.KindNote, ticket.Actor{}, text) // kind and author: Apply sets them
		if err := d.tx.Apply(ctx, tk, actor, ticket.Op{Kind: ticket.OpUnverified, Value: detail, Message: &msg}); err != nil {
			return d.res, err
		}
	}
	if err := d.answer(ctx, ticket.AnswerUnauthenticated, tk, agent, why); err != nil {
		return d.res, err
	}
	d.res.Outcome, d.res.Reason = OutcomeFollowUp, why
	if quarantine {
		d.res.Outcome = OutcomeQuarantined
	}
	return d.res, d.finish(ctx, tk.ID)
}

// ops are the changes an agent's mail asks for: its commands, and its text
// as a reply, a note (#note) or, with #transfer, the transfer's note for
// agents only. Apply checks them in this order and makes them in its own,
// so a mail naming both an unknown department and an unknown agent is
// answered about the department, as it always was.
func (d *delivery) ops(c commands, text string) []ticket.Op {
	var ops []ticket.Op
	var msg *ticket.Message
	if text != "" {
		m := d.message(ticket.KindNote, ticket.Actor{}, text) // kind and author: Apply sets them
		msg = &m
	}
	switch {
	case c.transfer != "":
		ops = append(ops, ticket.Op{Kind: ticket.OpTransfer, Value: c.transfer, Message: msg})
	case msg != nil && c.note:
		ops = append(ops, ticket.Op{Kind: ticket.OpNote, Message: msg})
	case msg != nil:
		ops = append(ops, ticket.Op{Kind: ticket.OpReply, Message: msg})
	}
	if c.assign != "" {
		ops = append(ops, ticket.Op{Kind: ticket.OpAssign, Value: c.assign})
	}
	for _, addr := range c.cc {
		ops = append(ops, ticket.Op{Kind: ticket.OpCc, Value: addr})
	}
	if c.priority != "" {
		ops = append(ops, ticket.Op{Kind: ticket.OpPriority, Value: string(c.priority)})
	}
	if c.status != "" {
		ops = append(ops, ticket.Op{Kind: ticket.OpStatus, Value: string(c.status)})
	}
	return ops
}

// refuse records why an agent's mail changed nothing and answers the agent
// with the reason.
func (d *delivery) refuse(ctx context.Context, tk *ticket.Ticket, agent ticket.Agent, why string) (Result, error) {
	if _, err := d.tx.Record(ctx, tk, ticket.Event{Actor: ticket.AgentActor(agent), Action: ticket.ActionCommandRefused,
		New: agent.Email, Detail: why}); err != nil {
		return d.res, err
	}
	if err := d.answer(ctx, ticket.AnswerCommandError, tk, agent, why); err != nil {
		return d.res, err
	}
	d.res.Outcome, d.res.Reason = OutcomeRejected, why
	return d.res, d.finish(ctx, tk.ID)
}

// answer queues a reply to the agent's own mail, in this transaction: the
// domain plans it like any notice.
func (d *delivery) answer(ctx context.Context, kind ticket.AnswerKind, tk *ticket.Ticket, agent ticket.Agent, why string) error {
	box, _ := d.mailbox()
	return d.tx.Answer(ctx, ticket.AgentAnswer{
		Kind: kind, Ticket: tk, Agent: agent, Mailbox: box.Address,
		Subject: d.msg.Subject, MessageID: d.msg.MessageID, Date: d.msg.Date, Error: why,
	})
}

func addrs(list []parse.Address) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}
