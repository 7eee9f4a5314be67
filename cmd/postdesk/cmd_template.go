package main

import (
	"context"
	"fmt"

	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/templates"
)

func cmdTemplate(ctx context.Context, a *app, args []string) int {
	sub, rest := splitSub(args)
	if sub != "render" {
		fmt.Fprintln(a.stderr, "Usage: postdesk template render NAME --ticket NUMBER [--to ADDRESS]")
		if sub == "" {
			return 2
		}
		return a.fail("unknown template command %q", sub)
	}
	fs := a.flags("template render", "NAME", "Print the complete MIME message that notice NAME would be for a ticket.\nNames: "+
		fmt.Sprint(templates.Names()))
	number := fs.String("ticket", "", "the ticket `number`")
	to := fs.String("to", "", "the recipient `address` (default: the customer, or the agent who would get it)")
	if !a.parse(fs, rest) {
		return 2
	}
	if fs.NArg() != 1 || *number == "" {
		fs.Usage()
		return 2
	}
	store, cfg, err := a.openStore(ctx)
	if err != nil {
		return a.configOrFail(err)
	}
	defer store.Pool().Close()
	set, err := loadTemplates(cfg)
	if err != nil {
		return a.fail("templates: %v", err)
	}
	opts, err := mailerOptions(cfg, set, nil)
	if err != nil {
		return a.fail("%v", err)
	}
	raw, err := mailer.Preview(ctx, store, opts, fs.Arg(0), *number, *to)
	if err != nil {
		return a.fail("%v", err)
	}
	if _, err := a.stdout.Write(raw); err != nil {
		return a.fail("%v", err)
	}
	return 0
}
