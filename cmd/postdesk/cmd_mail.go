package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/postdesk/postdesk/intake"
)

const mailUsage = `Usage: postdesk mail list [--outcome quarantined|ignored|rejected|new_ticket|follow_up|all] [--limit N] [--json]
       postdesk mail show ID [--raw] [--json]
       postdesk mail replay ID... | --all`

func cmdMail(ctx context.Context, a *app, args []string) int {
	sub, rest := splitSub(args)
	switch sub {
	case "list":
		return mailList(ctx, a, rest)
	case "show":
		return mailShow(ctx, a, rest)
	case "replay":
		return mailReplay(ctx, a, rest)
	}
	fmt.Fprintln(a.stderr, mailUsage)
	if sub == "" {
		return 2
	}
	return a.fail("unknown mail command %q", sub)
}

var outcomes = []intake.Outcome{intake.OutcomeQuarantined, intake.OutcomeIgnored, intake.OutcomeRejected,
	intake.OutcomeNewTicket, intake.OutcomeFollowUp}

func mailList(ctx context.Context, a *app, args []string) int {
	fs := a.flags("mail list", "", "List stored inbound mail, newest first: by default the mail in quarantine.")
	outcome := fs.String("outcome", "quarantined", "only mail with this `outcome`: quarantined, ignored, rejected, new_ticket, follow_up or all")
	limit := fs.Int("limit", 50, "at most this many mails")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if !a.parse(fs, args) {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var want intake.Outcome
	if *outcome != "all" {
		want = intake.Outcome(strings.ToLower(*outcome))
		known := false
		for _, o := range outcomes {
			known = known || o == want
		}
		if !known {
			return a.fail("unknown outcome %q (use quarantined, ignored, rejected, new_ticket, follow_up or all)", *outcome)
		}
	}
	if *limit <= 0 {
		return a.fail("--limit must be at least 1")
	}
	store, _, err := a.openReadStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	mails, err := intake.StoredMails(ctx, store.Pool(), want, *limit)
	if err != nil {
		return a.fail("%v", err)
	}
	if *asJSON {
		if mails == nil {
			mails = []intake.StoredMail{}
		}
		return a.printJSON(mails)
	}
	if len(mails) == 0 {
		what := "no stored mail"
		if want != "" {
			what = "no mail with outcome " + string(want)
		}
		fmt.Fprintln(a.stdout, what)
		return 0
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tRECEIVED\tTRANSPORT\tMAILBOX\tSENDER\tSUBJECT\tOUTCOME\tTICKET\tREASON")
	for _, m := range mails {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.ReceivedAt.UTC().Format("2006-01-02 15:04Z"),
			m.Transport, dash(m.Mailbox), oneLine(m.Sender, 40), dash(oneLine(m.Subject, 50)), m.Outcome, dash(m.TicketNumber),
			oneLine(m.Reason, 100))
	}
	if err := w.Flush(); err != nil {
		return a.fail("%v", err)
	}
	return 0
}

func mailShow(ctx context.Context, a *app, args []string) int {
	fs := a.flags("mail show", "ID", "Show a stored inbound mail and what became of it; with --raw, only its bytes as received.")
	raw := fs.Bool("raw", false, "print only the raw mail, byte for byte as stored")
	asJSON := fs.Bool("json", false, "print the fields as JSON")
	if !a.parse(fs, args) {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	id, ok := mailID(a, fs.Arg(0))
	if !ok {
		return 2
	}
	store, _, err := a.openReadStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	m, err := intake.GetStoredMail(ctx, store.Pool(), id)
	if errors.Is(err, intake.ErrMailNotFound) {
		return a.fail("no stored mail has id %d", id)
	}
	if err != nil {
		return a.fail("%v", err)
	}
	switch {
	case *raw:
		if _, err := a.stdout.Write(m.Raw); err != nil {
			return a.fail("%v", err)
		}
		return 0
	case *asJSON:
		return a.printJSON(m)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 1, ' ', 0)
	field := func(name, value string) { fmt.Fprintf(w, "%s:\t%s\n", name, value) }
	field("Mail", strconv.FormatInt(m.ID, 10))
	field("Received", m.ReceivedAt.UTC().Format(time.RFC3339))
	field("Transport", string(m.Transport))
	field("Remote", dash(m.RemoteAddr))
	field("Mailbox", dash(m.Mailbox))
	if m.IMAPUID != nil {
		uid := strconv.FormatInt(*m.IMAPUID, 10)
		if m.IMAPUIDValidity != nil {
			uid += " (UIDVALIDITY " + strconv.FormatInt(*m.IMAPUIDValidity, 10) + ")"
		}
		field("IMAP UID", uid)
	}
	field("MAIL FROM", "<"+m.MailFrom+">")
	field("RCPT TO", dash(strings.Join(m.Rcpt, ", ")))
	field("Sender", m.Sender)
	field("Subject", dash(oneLine(m.Subject, 0)))
	field("Message-ID", "<"+m.MessageID+">")
	field("Size", fmt.Sprintf("%d bytes", m.Size))
	field("Outcome", string(m.Outcome))
	field("Reason", dash(oneLine(m.Reason, 0)))
	field("Ticket", dash(m.TicketNumber))
	if m.ThreadRule != "" {
		field("Thread rule", m.ThreadRule)
	}
	replays := "never"
	if m.ReplayedAt != nil {
		replays = fmt.Sprintf("%d time(s), last %s", m.Replays, m.ReplayedAt.UTC().Format(time.RFC3339))
	}
	field("Replayed", replays)
	if err := w.Flush(); err != nil {
		return a.fail("%v", err)
	}
	if intake.Replayable(m.Outcome) {
		fmt.Fprintf(a.stdout, "\nRaw mail: postdesk mail show %d --raw\nReplay it with the current configuration: postdesk mail replay %d\n", m.ID, m.ID)
	}
	return 0
}

func mailReplay(ctx context.Context, a *app, args []string) int {
	fs := a.flags("mail replay", "ID... | --all", "Run quarantined or ignored mail through intake again with the current configuration\n"+
		"(filters, ban list, organisation), as if it had just arrived. The mail keeps its stored\n"+
		"record; only mail in quarantine or ignored (auto-replies, bounces, our own mail) can be\n"+
		"replayed, ignored mail by its ID. Notices go out through a running 'postdesk serve'.")
	all := fs.Bool("all", false, "replay every quarantined mail, oldest first")
	if !a.parse(fs, args) {
		return 2
	}
	if *all == (fs.NArg() > 0) {
		fs.Usage()
		return 2
	}
	var ids []int64
	for _, arg := range fs.Args() {
		id, ok := mailID(a, arg)
		if !ok {
			return 2
		}
		ids = append(ids, id)
	}
	store, _, err := a.openWorkStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	if *all {
		if ids, err = intake.QuarantinedIDs(ctx, store.Pool()); err != nil {
			return a.fail("%v", err)
		}
		if len(ids) == 0 {
			fmt.Fprintln(a.stdout, "no mail in quarantine")
			return 0
		}
	} else {
		// Check every mail first: a list with a wrong id replays nothing.
		bad := false
		for _, id := range ids {
			m, err := intake.GetStoredMail(ctx, store.Pool(), id)
			switch {
			case errors.Is(err, intake.ErrMailNotFound):
				a.fail("no stored mail has id %d", id)
				bad = true
			case err != nil:
				return a.fail("%v", err)
			case !intake.Replayable(m.Outcome):
				a.fail("mail %d is %s: only quarantined or ignored mail can be replayed", id, m.Outcome)
				bad = true
			}
		}
		if bad {
			return a.fail("nothing replayed")
		}
	}
	cfg, _ := a.config()
	// Replay as serve takes mail in: with the organisation of the configuration.
	if err := store.SyncOrg(ctx, orgOf(cfg)); err != nil {
		return a.fail("syncing the organisation from %s: %v", cfg.File, err)
	}
	log := a.logger(cfg).With("component", "replay")
	opts := intakeOptions(cfg, log)
	proc, err := intake.NewProcessor(ctx, store, opts)
	if err != nil {
		return a.fail("%v", err)
	}
	code := 0
	for _, id := range ids {
		res, err := proc.Replay(ctx, id)
		switch {
		case *all && errors.Is(err, intake.ErrNotQuarantined):
			// Replayed by someone else since the list was read.
			fmt.Fprintf(a.stdout, "mail %d: no longer quarantined, skipped\n", id)
			continue
		case errors.Is(err, intake.ErrNotQuarantined), errors.Is(err, intake.ErrMailNotFound):
			code = a.fail("%s", strings.TrimPrefix(err.Error(), "intake: replay "))
			continue
		case err != nil:
			code = a.fail("mail %d: %v", id, err)
			continue
		}
		line := fmt.Sprintf("mail %d: %s → %s, ticket %s", id, res.Was, res.Outcome, dash(res.TicketNumber))
		if res.Reason != "" {
			line += ", reason: " + oneLine(res.Reason, 0)
		}
		fmt.Fprintln(a.stdout, line)
	}
	return code
}

// mailID reads a mail id argument, or says why it is not one.
func mailID(a *app, arg string) (int64, bool) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		a.fail("%q is not a mail id (a number from 'postdesk mail list')", arg)
		return 0, false
	}
	return id, true
}

func (a *app) printJSON(v any) int {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return a.fail("%v", err)
	}
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine folds s onto one line, cut to limit runes (0: no limit).
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); limit > 0 && len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}
