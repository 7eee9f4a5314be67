package main

import (
	"context"

	"github.com/postdesk/postdesk/migrations"
	"github.com/postdesk/postdesk/ticket"
)

func cmdServe(ctx context.Context, a *app, args []string) int {
	fs := a.flags("serve", "", "Receive mail and send notices until stopped with SIGTERM or SIGINT.")
	if !a.parse(fs, args) {
		return 2
	}
	cfg, err := a.config()
	if err != nil {
		return a.configError(err)
	}
	log := a.logger(cfg)
	pool, err := a.pool(ctx, cfg)
	if err != nil {
		return a.fail("%v", err)
	}
	defer pool.Close()
	if cfg.Database.MigrateOnStart {
		applied, err := migrations.Up(ctx, pool)
		if err != nil {
			return a.fail("%v", err)
		}
		for _, r := range applied {
			log.Info("migration applied", "version", r.Version, "file", r.Source)
		}
	}
	current, latest, err := migrations.Status(ctx, pool)
	if err != nil {
		return a.fail("%v", err)
	}
	if current != latest {
		return a.fail("database schema is at version %d, this postdesk needs %d: run 'postdesk migrate' or set database.migrate_on_start", current, latest)
	}
	numbers, err := numbering(cfg)
	if err != nil {
		return a.fail("%v", err)
	}
	store := ticket.NewStore(pool, numbers, nil)
	if err := store.SyncOrg(ctx, orgOf(cfg)); err != nil {
		return a.fail("syncing the organisation from %s: %v", cfg.File, err)
	}
	log.Info("postdesk serving", "version", version, "config", cfg.File,
		"departments", len(cfg.Departments), "agents", len(cfg.Agents), "mailboxes", len(cfg.Mailboxes))
	<-ctx.Done()
	log.Info("postdesk stopped")
	return 0
}
