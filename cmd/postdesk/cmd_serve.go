package main

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/intake/poller"
	"github.com/postdesk/postdesk/mailer"
	"github.com/postdesk/postdesk/migrations"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/web"
)

// bigMailBudget is the part of the memory budget in use from which serve
// keeps the heap tight (memoryGuard).
const bigMailBudget = 8 << 20

// memoryGuard moves the Go runtime's soft memory limit with the mails being
// taken in. serve collects garbage seldom (GOGC 400), which is right for a
// flow of small mails but lets a big one grow the heap to five times what
// it holds. While big mails are under way (their part of the memory budget
// passes bigMailBudget), the limit is the heap as it was before them plus
// three quarters of their budget: about three times their size, which is
// what they hold at most (the raw bytes, the parser's working copy, a
// decoded file). Otherwise there is no limit.
type memoryGuard struct {
	base int64 // the live heap when big mails began; 0 while none are under way
}

func (g *memoryGuard) use(used int64) {
	switch {
	case used < bigMailBudget:
		if g.base != 0 {
			g.base = 0
			debug.SetMemoryLimit(math.MaxInt64)
		}
	default:
		if g.base == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			g.base = int64(ms.HeapAlloc)
		}
		debug.SetMemoryLimit(g.base + used*3/4)
	}
}

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
	if a.getenv("GOGC") == "" {
		// Intake allocates per mail and keeps little: collecting less often
		// took in about a fifth more mail per second in the benchmark.
		debug.SetGCPercent(400)
	}
	var memoryLimit func(int64)
	if a.getenv("GOMEMLIMIT") == "" {
		// Set, GOMEMLIMIT is the limit and stays so.
		memoryLimit = (&memoryGuard{}).use
	}
	set, err := loadTemplates(cfg)
	if err != nil {
		return a.fail("templates: %v", err)
	}
	mopts, err := mailerOptions(cfg, set, log.With("component", "mailer"))
	if err != nil {
		return a.fail("%v", err)
	}

	// Health and metrics answer from the start: /readyz says "not ready"
	// while the database is awaited.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ready := &readyState{}
	console := &consoleSlot{}
	var httpSrv *http.Server
	var httpFailed chan error // nil, never ready, without HTTP
	if cfg.Listen.HTTP != "" {
		httpLn, err := net.Listen("tcp", cfg.Listen.HTTP)
		if err != nil {
			return a.fail("listen http %s: %v", cfg.Listen.HTTP, err)
		}
		httpSrv = &http.Server{Handler: healthHandler(ready, reg, console), ReadHeaderTimeout: httpTimeout}
		httpFailed = make(chan error, 1)
		go func() {
			if err := httpSrv.Serve(httpLn); !errors.Is(err, http.ErrServerClosed) {
				log.Error("http stopped", "error", err)
				httpFailed <- err
			}
		}()
		defer httpSrv.Close() // on the ways out before shutdown; after Shutdown a no-op
	}
	pool, err := a.waitForDatabase(ctx, cfg, log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped while waiting for the database")
			return 0
		}
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
	store.SetMaxCollaborators(cfg.Tickets.MaxCollaborators)
	if err := store.SyncOrg(ctx, orgOf(cfg)); err != nil {
		return a.fail("syncing the organisation from %s: %v", cfg.File, err)
	}
	notifier, err := mailer.NewNotifier(mopts, numbers)
	if err != nil {
		return a.fail("%v", err)
	}
	store.SetNotifier(notifier)
	site, err := web.New(webOptions(cfg, store, log.With("component", "web")))
	if err != nil {
		return a.fail("%v", err)
	}
	console.p.Store(site)

	iopts := intakeOptions(cfg, log.With("component", "intake"))
	iopts.Metrics = intake.NewMetrics(reg)
	lmetrics := listener.NewMetrics(reg)
	proc, err := intake.NewProcessor(ctx, store, iopts)
	if err != nil {
		return a.fail("%v", err)
	}
	worker, err := mailer.NewWorker(store, mopts)
	if err != nil {
		return a.fail("%v", err)
	}
	polls, err := poller.New(pool, proc, pollerMailboxes(cfg), log.With("component", "poller"))
	if err != nil {
		return a.fail("%v", err)
	}
	reg.MustRegister(newStoreCollector(pool, polls))

	lcs, err := listenerConfigs(cfg, log.With("component", "listener"), memoryLimit)
	if err != nil {
		return a.fail("%v", err)
	}
	var listeners []*listener.Listener
	closeAll := func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	for _, lc := range lcs {
		lc.Metrics = lmetrics
		l := listener.New(proc, lc)
		if err := l.Listen(); err != nil {
			closeAll()
			return a.fail("%v", err)
		}
		listeners = append(listeners, l)
	}

	// Pollers and the delivery worker stop when work ends; listeners drain
	// within the grace period first.
	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	var wg sync.WaitGroup
	failed := make(chan error, len(listeners)+2)
	goRun := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, context.Canceled) {
				log.Error(name+" stopped", "error", err)
				failed <- err
			}
		}()
	}
	for _, l := range listeners {
		goRun("listener", l.Serve)
	}
	goRun("delivery worker", func() error { return worker.Run(work) })
	goRun("poller", func() error { return polls.Run(work) })
	ready.p.Store(&serving{pool: pool, polls: polls, listeners: len(listeners)})
	log.Info("postdesk serving", "version", version, "config", cfg.File, "departments", len(cfg.Departments),
		"agents", len(cfg.Agents), "mailboxes", len(cfg.Mailboxes), "smtp", cfg.Listen.SMTP, "lmtp", cfg.Listen.LMTP,
		"http", cfg.Listen.HTTP)

	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", cfg.Listen.ShutdownGrace)
	case <-failed:
		code = 1
	case <-httpFailed:
		code = 1
	}
	grace, cancel := context.WithTimeout(context.Background(), cfg.Listen.ShutdownGrace)
	defer cancel()
	var drain sync.WaitGroup
	for _, l := range listeners {
		drain.Add(1)
		go func() {
			defer drain.Done()
			if err := l.Shutdown(grace); err != nil {
				log.Warn("listener shutdown", "error", err)
			}
		}()
	}
	stopWork()
	drain.Wait()
	if httpSrv != nil {
		_ = httpSrv.Shutdown(grace)
	}
	wg.Wait()
	log.Info("postdesk stopped")
	return code
}
