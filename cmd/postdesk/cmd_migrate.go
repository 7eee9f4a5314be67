package main

import (
	"context"
	"fmt"

	"github.com/postdesk/postdesk/migrations"
)

func cmdMigrate(ctx context.Context, a *app, args []string) int {
	fs := a.flags("migrate", "", "Bring the database schema to the newest version. Safe to run from several\nprocesses at once and to run again: a database at head is left as it is.")
	if !a.parse(fs, args) {
		return 2
	}
	// Migrating uses no secret: the reply secret and passwords may be unset.
	cfg, err := a.readConfig()
	if err != nil {
		return a.configError(err)
	}
	pool, err := a.pool(ctx, cfg)
	if err != nil {
		return a.fail("%v", err)
	}
	defer pool.Close()
	applied, err := migrations.Up(ctx, pool)
	if err != nil {
		return a.fail("%v", err)
	}
	for _, r := range applied {
		fmt.Fprintf(a.stdout, "applied %s\n", r.Source)
	}
	current, _, err := migrations.Status(ctx, pool)
	if err != nil {
		return a.fail("%v", err)
	}
	if len(applied) == 0 {
		fmt.Fprintf(a.stdout, "database already at version %d; nothing to do\n", current)
	} else {
		fmt.Fprintf(a.stdout, "database at version %d\n", current)
	}
	return 0
}
