package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/postdesk/postdesk/cmd/postdesk/config"
	"github.com/postdesk/postdesk/intake/poller"
	"github.com/postdesk/postdesk/mailer"
)

const mailboxUsage = `Usage: postdesk mailbox test NAME       check an IMAP mailbox: connect, TLS, login, folder
       postdesk mailbox test --relay    check the outbound SMTP relay: connect, STARTTLS, AUTH
       postdesk mailbox test --all      check every IMAP mailbox and the relay`

func cmdMailbox(ctx context.Context, a *app, args []string) int {
	sub, rest := splitSub(args)
	if sub == "test" {
		return mailboxTest(ctx, a, rest)
	}
	fmt.Fprintln(a.stderr, mailboxUsage)
	if sub == "" {
		return 2
	}
	return a.fail("unknown mailbox command %q", sub)
}

// checkLine is one step of a check, whichever package made it.
type checkLine struct{ name, result, detail string }

func mailboxTest(ctx context.Context, a *app, args []string) int {
	fs := a.flags("mailbox test", "NAME | --relay | --all",
		"Log in to an IMAP mailbox, or to the SMTP relay, with the configured credentials and say what works.\n"+
			"Nothing is read, flagged or sent. Exit status 0 only when everything works.")
	relay := fs.Bool("relay", false, "check the outbound SMTP relay instead of a mailbox")
	all := fs.Bool("all", false, "check every IMAP mailbox and the relay")
	timeout := fs.Duration("timeout", time.Minute, "give up on each check after this `duration`")
	if !a.parse(fs, args) {
		return 2
	}
	names := fs.Args()
	if len(names) == 0 && !*relay && !*all || *all && len(names) > 0 {
		fmt.Fprintln(a.stderr, mailboxUsage)
		return 2
	}
	cfg, err := a.config()
	if err != nil {
		return a.configError(err)
	}
	imapBoxes := map[string]config.Mailbox{}
	for _, m := range cfg.Mailboxes {
		if m.Kind == config.KindIMAP && m.IMAP != nil {
			imapBoxes[m.Name] = m
		}
	}
	if *all {
		names = sortedKeys(imapBoxes)
		*relay = true
	}
	for _, name := range names {
		if _, ok := imapBoxes[name]; ok {
			continue
		}
		for _, m := range cfg.Mailboxes {
			if m.Name == name {
				return a.fail("mailbox %s is kind %s: its mail reaches postdesk's own SMTP listener (listen.smtp %s), "+
					"there is no server to log in to; 'postdesk mailbox test --relay' checks the outbound relay", name, m.Kind, cfg.Listen.SMTP)
			}
		}
		known := sortedKeys(imapBoxes)
		if len(known) == 0 {
			return a.fail("no mailbox %s: %s has no IMAP mailboxes", name, cfg.File)
		}
		return a.fail("no IMAP mailbox %s in %s; IMAP mailboxes: %s", name, cfg.File, strings.Join(known, ", "))
	}

	failed := 0
	byName := map[string]poller.Mailbox{}
	for _, b := range pollerMailboxes(cfg) {
		byName[b.Name] = b
	}
	for i, name := range names {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		box, m := byName[name], imapBoxes[name]
		fmt.Fprintf(a.stdout, "IMAP mailbox %s <%s>: user %s at %s:%d, tls %s, folder %s\n", name, m.Address,
			box.Username, box.Host, box.Port, box.TLS, box.Folder)
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		rep := poller.Check(cctx, box)
		cancel()
		var lines []checkLine
		for _, s := range rep.Steps {
			lines = append(lines, checkLine{s.Name, s.Result, s.Detail})
		}
		hint := ""
		if m.IMAP.Auth == config.IMAPLogin && m.IMAP.PasswordEnv != "" {
			hint = "the password comes from $" + m.IMAP.PasswordEnv
		}
		if !printCheck(a.stdout, lines, hint) {
			failed++
		}
	}
	if *relay {
		if len(names) > 0 {
			fmt.Fprintln(a.stdout)
		}
		rc := relayConfig(cfg)
		fmt.Fprintf(a.stdout, "SMTP relay %s:%d: tls %s, auth %s\n", rc.Host, rc.Port, rc.TLS, rc.Auth)
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		rep := mailer.CheckRelay(cctx, rc)
		cancel()
		var lines []checkLine
		for _, s := range rep.Steps {
			lines = append(lines, checkLine{s.Name, s.Result, s.Detail})
		}
		hint := ""
		if cfg.Relay.PasswordEnv != "" {
			hint = "the password comes from $" + cfg.Relay.PasswordEnv
		}
		if len(rep.Extensions) > 0 {
			fmt.Fprintf(a.stdout, "  the relay offers: %s\n", strings.Join(rep.Extensions, ", "))
		}
		if !printCheck(a.stdout, lines, hint) {
			failed++
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// printCheck prints the steps and a verdict, and reports whether all worked.
// poller's and mailer's result constants have the same values.
func printCheck(w io.Writer, lines []checkLine, hint string) bool {
	var broken []string
	for _, l := range lines {
		mark := l.result
		switch l.result {
		case poller.CheckFailed:
			mark = "FAILED"
			broken = append(broken, l.name)
		case poller.CheckWarning:
			mark = "warning"
		}
		fmt.Fprintf(w, "  %-8s %-13s %s\n", mark, l.name, l.detail)
	}
	if len(broken) == 0 {
		fmt.Fprintln(w, "Result: works.")
		return true
	}
	fmt.Fprintf(w, "Result: does NOT work (%s failed).\n", strings.Join(broken, ", "))
	for _, b := range broken {
		if (b == "login" || b == "auth") && hint != "" {
			fmt.Fprintf(w, "  Hint: %s.\n", hint)
		}
	}
	return false
}

// relayConfig maps the configuration's relay onto the mailer's. serve
// (mailerOptions) and this check use it alike, so they trust the same CAs
// and log in the same way.
func relayConfig(cfg *config.Config) mailer.Relay {
	r := cfg.Relay
	return mailer.Relay{Host: r.Host, Port: r.Port, TLS: string(r.TLS), CAFile: r.CAFile, Auth: string(r.Auth),
		Username: r.Username, Password: r.Password.Reveal(), TokenCommand: r.OAuthTokenCommand, HELO: r.HELO,
		Timeout: r.Timeout}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
