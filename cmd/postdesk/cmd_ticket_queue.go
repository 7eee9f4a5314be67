package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/postdesk/postdesk/ticket"
)

type queueArgs struct {
	view, as, priority, after string
	admin                     bool
}

// ticketQueue prints a queue of the console, as an agent (or an admin)
// sees it, with its count and the cursor of the next page.
func ticketQueue(ctx context.Context, a *app, qa queueArgs, status, dept string, limit int) int {
	if qa.as == "" && !qa.admin {
		return a.fail("--queue needs --as AGENT or --admin")
	}
	var f ticket.Filter
	if status != "" {
		s, err := ticket.ParseStatus(status)
		if err != nil {
			return a.fail("%v", err)
		}
		f.Status = []ticket.Status{s}
	}
	if qa.priority != "" {
		p, err := ticket.ParsePriority(qa.priority)
		if err != nil {
			return a.fail("%v", err)
		}
		f.Priority = []ticket.Priority{p}
	}
	cursor, err := ticket.ParseCursor(qa.after)
	if err != nil {
		return a.fail("--after: %v", err)
	}
	store, _, err := a.openReadStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	pool := store.Pool()
	who := ticket.Viewer{Admin: qa.admin}
	if qa.as != "" {
		agent, err := store.ActiveAgent(ctx, qa.as)
		if err != nil {
			return a.fail("no active agent %q", qa.as)
		}
		if who, err = ticket.ViewerOf(ctx, pool, agent.ID, qa.admin); err != nil {
			return a.fail("%v", err)
		}
	}
	if dept != "" {
		d, err := store.Department(ctx, dept)
		if err != nil {
			return a.fail("no department named %q", dept)
		}
		f.DepartmentID = d.ID
	}
	view := ticket.View{Kind: ticket.ViewKind(strings.ToLower(qa.view))}
	switch view.Kind {
	case ticket.ViewUnassigned, ticket.ViewMine, ticket.ViewOpen, ticket.ViewResolved, ticket.ViewAll:
	default:
		d, err := store.Department(ctx, qa.view)
		if err != nil {
			return a.fail("no queue %q (unassigned, mine, open, resolved, all or a department's name)", qa.view)
		}
		view = ticket.View{Kind: ticket.ViewDepartment, DepartmentID: d.ID}
	}
	rows, next, err := ticket.Queue(ctx, pool, who, view, f, cursor, limit)
	if err != nil {
		return a.fail("%v", err)
	}
	counts, err := ticket.QueueCounts(ctx, pool, who)
	if err != nil {
		return a.fail("%v", err)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NUMBER\tSTATUS\tPRIORITY\tDEPARTMENT\tASSIGNEE\tCUSTOMER\tCREATED\tSUBJECT")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Status, r.Priority, r.DepartmentName,
			dash(r.AssigneeName), r.CustomerEmail, r.CreatedAt.UTC().Format("2006-01-02 15:04Z"), r.Subject)
	}
	if err := w.Flush(); err != nil {
		return a.fail("%v", err)
	}
	fmt.Fprintf(a.stdout, "%d tickets in the queue\n", counts[view])
	if !next.IsZero() {
		fmt.Fprintf(a.stdout, "next page: --after %s\n", next)
	}
	return 0
}
