package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/postdesk/postdesk/ticket"
)

func cmdTicket(ctx context.Context, a *app, args []string) int {
	sub, rest := splitSub(args)
	switch sub {
	case "list":
		return ticketList(ctx, a, rest)
	case "show":
		return ticketShow(ctx, a, rest)
	case "search":
		return ticketSearch(ctx, a, rest)
	}
	if wc, ok := workCommands[sub]; ok {
		return ticketWork(ctx, a, wc, rest)
	}
	fmt.Fprintln(a.stderr, "Usage: postdesk ticket list [--status S] [--department D] [--queue VIEW --as AGENT|--admin]\n       postdesk ticket show NUMBER\n"+
		"       postdesk ticket search QUERY...\n"+workUsage)
	if sub == "" {
		return 2
	}
	return a.fail("unknown ticket command %q", sub)
}

func ticketList(ctx context.Context, a *app, args []string) int {
	fs := a.flags("ticket list", "", "List tickets, most recently updated first.")
	status := fs.String("status", "", "only tickets with this `status` (open, resolved, closed)")
	dept := fs.String("department", "", "only tickets of this `department`")
	limit := fs.Int("limit", 100, "at most this many tickets")
	var qa queueArgs
	fs.StringVar(&qa.view, "queue", "", "list this `queue` in queue order (unassigned, mine, open, resolved, all, or a department's name) as the console shows it")
	fs.StringVar(&qa.as, "as", "", "the queue of this `agent` (username or email)")
	fs.BoolVar(&qa.admin, "admin", false, "the queue as an admin sees it (every department)")
	fs.StringVar(&qa.priority, "priority", "", "with --queue: only tickets of this `priority`")
	fs.StringVar(&qa.after, "after", "", "with --queue: the page after this `cursor`, as the last page printed it")
	if !a.parse(fs, args) {
		return 2
	}
	if qa.view != "" {
		return ticketQueue(ctx, a, qa, *status, *dept, *limit)
	}
	var f ticket.ListFilter
	if *status != "" {
		s, err := ticket.ParseStatus(*status)
		if err != nil {
			return a.fail("%v", err)
		}
		f.Status = s
	}
	f.Department, f.Limit = *dept, *limit
	store, _, err := a.openReadStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	if f.Department != "" {
		if _, err := store.Department(ctx, f.Department); err != nil {
			return a.fail("no department named %q", f.Department)
		}
	}
	tickets, err := store.List(ctx, f)
	if err != nil {
		return a.fail("%v", err)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NUMBER\tSTATUS\tPRIORITY\tDEPARTMENT\tASSIGNEE\tCUSTOMER\tUPDATED\tSUBJECT")
	for _, t := range tickets {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Status, t.Priority, t.DepartmentName,
			dash(t.AssigneeName), t.CustomerEmail, t.UpdatedAt.UTC().Format("2006-01-02 15:04Z"), t.Subject)
	}
	if err := w.Flush(); err != nil {
		return a.fail("%v", err)
	}
	return 0
}

func ticketShow(ctx context.Context, a *app, args []string) int {
	fs := a.flags("ticket show", "NUMBER", "Show a ticket's fields and its whole history: messages, notes, events and notices.")
	if !a.parse(fs, args) {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	store, _, err := a.openReadStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	err = store.Show(ctx, a.stdout, fs.Arg(0))
	if errors.Is(err, ticket.ErrNotFound) {
		return a.fail("no ticket numbered %s", fs.Arg(0))
	}
	if err != nil {
		return a.fail("%v", err)
	}
	return 0
}

func ticketSearch(ctx context.Context, a *app, args []string) int {
	fs := a.flags("ticket search", "QUERY...", "Search tickets by number, subject, message text and customer, best first. Words are\n"+
		"matched as the web console matches them (\"a phrase\", or, -word), with from:ADDRESS, subject:WORD,\n"+
		"status:STATUS and number:DIGITS.")
	limit := fs.Int("limit", 20, "at most this many tickets")
	asJSON := fs.Bool("json", false, "print the hits as JSON")
	if !a.parse(fs, args) {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	q, err := ticket.ParseSearch(strings.Join(fs.Args(), " "))
	if err != nil {
		return a.fail("%v", err)
	}
	store, _, err := a.openReadStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	hits, err := store.Search(ctx, ticket.SearchScope{All: true}, q, *limit)
	if err != nil {
		return a.fail("%v", err)
	}
	marks := strings.NewReplacer(ticket.SnippetStart, "[", ticket.SnippetStop, "]", "\n", " ")
	if *asJSON {
		for i := range hits {
			hits[i].Snippet = marks.Replace(hits[i].Snippet)
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(hits); err != nil {
			return a.fail("%v", err)
		}
		return 0
	}
	if len(hits) == 0 {
		fmt.Fprintln(a.stdout, "no ticket found")
		return 0
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NUMBER\tSTATUS\tDEPARTMENT\tCUSTOMER\tUPDATED\tSUBJECT")
	for _, h := range hits {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Number, h.Status, h.Department, h.CustomerEmail,
			h.Updated.UTC().Format("2006-01-02 15:04Z"), h.Subject)
		if h.Snippet != "" {
			fmt.Fprintf(w, "\t\t\t\t\t  %s\n", marks.Replace(h.Snippet))
		}
	}
	if err := w.Flush(); err != nil {
		return a.fail("%v", err)
	}
	return 0
}
