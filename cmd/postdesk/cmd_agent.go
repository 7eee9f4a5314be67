package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/web"
)

func cmdAgent(ctx context.Context, a *app, args []string) int {
	sub, rest := splitSub(args)
	switch sub {
	case "link":
		return agentLink(ctx, a, rest)
	case "password":
		return agentPassword(ctx, a, rest)
	}
	fmt.Fprintln(a.stderr, "Usage: postdesk agent link USERNAME|EMAIL\n       postdesk agent password USERNAME|EMAIL < password")
	if sub == "" {
		return 2
	}
	return a.fail("unknown agent command %q", sub)
}

// signInAgent finds the active agent for a command, saying in plain words
// when there is none.
func signInAgent(ctx context.Context, a *app, store *ticket.Store, who string) (ticket.Agent, bool) {
	ag, err := ticket.SignInAgent(ctx, store.Pool(), who)
	if errors.Is(err, ticket.ErrSignIn) {
		a.fail("no active agent with username or address %q (agents come from the configuration; "+
			"'postdesk serve' stores them in the database when it starts)", who)
		return ticket.Agent{}, false
	}
	if err != nil {
		a.fail("%v", err)
		return ticket.Agent{}, false
	}
	return ag, true
}

func agentLink(ctx context.Context, a *app, args []string) int {
	fs := a.flags("agent link", "USERNAME|EMAIL", fmt.Sprintf(
		"Print a one-time sign-in URL for the web console, good for %s; the URL is the last line.", ticket.SignInLinkLifetime))
	if !a.parse(fs, args) {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	store, cfg, err := a.openReadStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	if cfg.Web.BaseURL == "" {
		return a.fail("no web.base_url (nor listen.http) in %s: the link needs the console's address", cfg.File)
	}
	ag, ok := signInAgent(ctx, a, store, fs.Arg(0))
	if !ok {
		return 1
	}
	tok, err := store.NewSignInToken(ctx, ag.ID, time.Now())
	if err != nil {
		return a.fail("%v", err)
	}
	fmt.Fprintf(a.stdout, "Sign-in link for %s <%s>, good once until %s:\n%s\n", ag.Name, ag.Email,
		time.Now().Add(ticket.SignInLinkLifetime).UTC().Format("2006-01-02 15:04Z"), web.LinkURL(cfg.Web.BaseURL, tok))
	return 0
}

func agentPassword(ctx context.Context, a *app, args []string) int {
	fs := a.flags("agent password", "USERNAME|EMAIL", fmt.Sprintf(
		"Set an agent's web console password, read from the first line of standard input (at least %d characters).",
		ticket.MinPasswordLength))
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
	line, err := bufio.NewReader(a.stdin()).ReadString('\n')
	if err != nil && line == "" {
		return a.fail("no password on standard input: pipe it in, e.g. printf '%%s\\n' \"$PASSWORD\" | postdesk agent password %s", fs.Arg(0))
	}
	password := strings.TrimRight(line, "\r\n")
	ag, ok := signInAgent(ctx, a, store, fs.Arg(0))
	if !ok {
		return 1
	}
	if err := store.SetPassword(ctx, ag.ID, password); err != nil {
		if errors.Is(err, ticket.ErrInvalid) {
			return a.fail("password not set: it must have at least %d characters", ticket.MinPasswordLength)
		}
		return a.fail("%v", err)
	}
	fmt.Fprintf(a.stdout, "Password set for %s <%s>.\n", ag.Name, ag.Email)
	return 0
}
