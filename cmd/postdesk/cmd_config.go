package main

import (
	"context"
	"fmt"
)

func cmdConfig(_ context.Context, a *app, args []string) int {
	sub, rest := splitSub(args)
	if sub != "check" {
		fmt.Fprintln(a.stderr, "Usage: postdesk config check [FILE]")
		if sub == "" {
			return 2
		}
		return a.fail("unknown config command %q", sub)
	}
	fs := a.flags("config check", "[FILE]", "Check a configuration file and report every problem with its place.")
	if !a.parse(fs, rest) {
		return 2
	}
	if fs.NArg() > 1 {
		return a.fail("config check takes one file, got %d", fs.NArg())
	}
	if fs.NArg() == 1 {
		a.configPath = fs.Arg(0)
	}
	cfg, err := a.config()
	if err != nil {
		return a.configError(err)
	}
	set, err := loadTemplates(cfg)
	if err != nil {
		return a.fail("%s: templates: %v", cfg.File, err)
	}
	if _, err := mailerOptions(cfg, set, nil); err != nil {
		return a.fail("%s: %v", cfg.File, err)
	}
	fmt.Fprintf(a.stdout, "%s: OK (%d departments, %d agents, %d help topics, %d mailboxes)\n",
		cfg.File, len(cfg.Departments), len(cfg.Agents), len(cfg.HelpTopics), len(cfg.Mailboxes))
	if cfg.Database.URLMissing() {
		fmt.Fprintf(a.stdout, "note: %s is not set; 'postdesk serve' will need it\n", cfg.Database.URLEnv)
	}
	return 0
}
