package main

import (
	"context"
	"sync"

	"github.com/postdesk/postdesk/intake"
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
	proc, err := intake.NewProcessor(ctx, store, intakeOptions(cfg, log))
	if err != nil {
		return a.fail("%v", err)
	}
	lcs, err := listenerConfigs(cfg, log)
	if err != nil {
		return a.fail("%v", err)
	}
	var listeners []*intake.Listener
	for _, lc := range lcs {
		l := intake.NewListener(proc, lc)
		if err := l.Listen(); err != nil {
			for _, o := range listeners {
				o.Close()
			}
			return a.fail("%v", err)
		}
		listeners = append(listeners, l)
	}
	var wg sync.WaitGroup
	serveErr := make(chan error, len(listeners))
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Serve(); err != nil {
				serveErr <- err
			}
		}()
	}
	log.Info("postdesk serving", "version", version, "config", cfg.File,
		"departments", len(cfg.Departments), "agents", len(cfg.Agents), "mailboxes", len(cfg.Mailboxes))

	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", cfg.Listen.ShutdownGrace)
	case err := <-serveErr:
		log.Error("listener failed", "error", err)
		code = 1
	}
	grace, cancel := context.WithTimeout(context.Background(), cfg.Listen.ShutdownGrace)
	defer cancel()
	for _, l := range listeners {
		if err := l.Shutdown(grace); err != nil {
			log.Warn("listener shutdown", "error", err)
		}
	}
	wg.Wait()
	log.Info("postdesk stopped")
	return code
}
