package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sethvargo/go-retry"

	"github.com/postdesk/postdesk/cmd/postdesk/config"
	"github.com/postdesk/postdesk/migrations"
	"github.com/postdesk/postdesk/ticket"
)

// app carries what every command needs: its output streams, the
// environment and, once loaded, the configuration.
type app struct {
	in             io.Reader // standard input; nil means os.Stdin
	stdout, stderr io.Writer
	getenv         func(string) string
	configPath     string
	cfg            *config.Config
	cfgNoSecrets   bool // cfg was loaded with secrets optional (readConfig)
}

// stdin is the command's standard input.
func (a *app) stdin() io.Reader {
	if a.in != nil {
		return a.in
	}
	return os.Stdin
}

func (a *app) fail(format string, args ...any) int {
	fmt.Fprintf(a.stderr, "postdesk: "+format+"\n", args...)
	return 1
}

// config loads the configuration file once, every secret included: an
// unset `*_env` variable is a problem.
func (a *app) config() (*config.Config, error) {
	return a.loadConfig(config.LoadOptions{})
}

// readConfig loads the configuration for a command that only reads and
// never uses a secret (ticket list and show, mail list and show): unset
// secrets are no problem, everything else is checked as by config.
func (a *app) readConfig() (*config.Config, error) {
	return a.loadConfig(config.LoadOptions{SecretsOptional: true})
}

func (a *app) loadConfig(opts config.LoadOptions) (*config.Config, error) {
	if a.cfg != nil && (!a.cfgNoSecrets || opts.SecretsOptional) {
		return a.cfg, nil
	}
	path := a.configPath
	if path == "" {
		path = a.getenv("POSTDESK_CONFIG")
	}
	if path == "" {
		path = "postdesk.yaml"
	}
	cfg, err := config.LoadWith(path, a.getenv, opts)
	if err != nil {
		return nil, err
	}
	a.cfg, a.cfgNoSecrets = cfg, opts.SecretsOptional
	return cfg, nil
}

// logger builds the process logger from the configuration.
func (a *app) logger(cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	if cfg.Log.Format == config.LogJSON {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

// errNoDatabase says exactly what to do when no database is configured.
var errNoDatabase = errors.New("no database: set POSTDESK_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postdesk?sslmode=disable)")

// pool connects to the configured database and checks that it answers.
func (a *app) pool(ctx context.Context, cfg *config.Config) (*pgxpool.Pool, error) {
	pool, pc, err := newPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s:%d does not answer: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, err)
	}
	return pool, nil
}

// newPool makes the pool for the configured database without connecting:
// its errors are the configuration's, and waiting does not mend them.
func newPool(ctx context.Context, cfg *config.Config) (*pgxpool.Pool, *pgxpool.Config, error) {
	if cfg.Database.URLMissing() {
		if cfg.Database.URLEnv != "" && cfg.Database.URLEnv != "POSTDESK_DATABASE_URL" {
			return nil, nil, fmt.Errorf("no database: set %s", cfg.Database.URLEnv)
		}
		return nil, nil, errNoDatabase
	}
	pc, err := pgxpool.ParseConfig(string(cfg.Database.URL))
	if err != nil {
		return nil, nil, fmt.Errorf("database URL in %s: %w", cfg.Database.URLEnv, err)
	}
	if cfg.Database.MaxConns > 0 {
		pc.MaxConns = int32(cfg.Database.MaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	return pool, pc, nil
}

// The pause between attempts to reach the database at start doubles from
// dbRetryBase up to dbRetryMax: short enough that a database coming up
// (docker compose, a restarted server) is found within seconds, long
// enough that a database down for hours does not flood the log.
const (
	dbRetryBase    = 500 * time.Millisecond
	dbRetryMax     = 15 * time.Second
	dbPingDeadline = 10 * time.Second // one attempt; a lost packet must not hang it
)

// waitForDatabase connects to the configured database, trying again with
// backoff until it answers or ctx ends, and logs one line per failed
// attempt. 'postdesk serve' starts this way, so that it can come up before
// PostgreSQL does; only configuration errors end it at once.
func (a *app) waitForDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, pc, err := newPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	backoff := retry.WithCappedDuration(dbRetryMax, retry.WithJitterPercent(20, retry.NewExponential(dbRetryBase)))
	attempt, last := 0, error(nil)
	logged := retry.BackoffFunc(func() (time.Duration, bool) {
		wait, stop := backoff.Next()
		log.Warn("database does not answer; trying again", "attempt", attempt, "retry_in", wait.Round(10*time.Millisecond),
			"host", pc.ConnConfig.Host, "port", pc.ConnConfig.Port, "database", pc.ConnConfig.Database, "error", last)
		return wait, stop
	})
	err = retry.Do(ctx, logged, func(ctx context.Context) error {
		attempt++
		ctx, cancel := context.WithTimeout(ctx, dbPingDeadline)
		defer cancel()
		if last = pool.Ping(ctx); last != nil {
			return retry.RetryableError(last)
		}
		return nil
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s:%d: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, err)
	}
	if attempt > 1 {
		log.Info("database answers", "attempts", attempt)
	}
	return pool, nil
}

// openStore connects, checks the schema is at head and returns the store.
// The configuration must have every secret.
func (a *app) openStore(ctx context.Context) (*ticket.Store, *config.Config, error) {
	return a.openStoreWith(ctx, a.config)
}

// openReadStore is openStore for commands that only read: the
// configuration's secrets may be unset (see readConfig). The store has no
// notifier, so nothing done through it can queue a notice.
func (a *app) openReadStore(ctx context.Context) (*ticket.Store, *config.Config, error) {
	return a.openStoreWith(ctx, a.readConfig)
}

func (a *app) openStoreWith(ctx context.Context, load func() (*config.Config, error)) (*ticket.Store, *config.Config, error) {
	cfg, err := load()
	if err != nil {
		return nil, nil, err
	}
	pool, err := a.pool(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	current, latest, err := migrations.Status(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	if current != latest {
		pool.Close()
		return nil, nil, fmt.Errorf("database schema is at version %d, this postdesk needs %d: run 'postdesk migrate'", current, latest)
	}
	numbers, err := numbering(cfg)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	store := ticket.NewStore(pool, numbers, nil)
	store.SetMaxCollaborators(cfg.Tickets.MaxCollaborators)
	return store, cfg, nil
}

func numbering(cfg *config.Config) (ticket.Numbering, error) {
	return ticket.NewNumbering(cfg.Tickets.NumberLength, cfg.Tickets.NumberPrefix, cfg.Tickets.SubjectToken)
}

// printConfigError prints a configuration error, one problem per line.
func (a *app) configError(err error) int {
	var cerr *config.Errors
	if errors.As(err, &cerr) {
		fmt.Fprint(a.stderr, cerr.Error())
		if len(cerr.Error()) > 0 && cerr.Error()[len(cerr.Error())-1] != '\n' {
			fmt.Fprintln(a.stderr)
		}
		fmt.Fprintf(a.stderr, "postdesk: configuration has %d problem(s)\n", len(cerr.Problems))
		return 1
	}
	if errors.Is(err, os.ErrNotExist) {
		return a.fail("%v (give the file with --config or $POSTDESK_CONFIG)", err)
	}
	return a.fail("%v", err)
}

// configOrFail reports a configuration error in full, anything else briefly.
// When unset secrets are all that is wrong it says so: the file is fine,
// the command needs those variables.
func (a *app) configOrFail(err error) int {
	var cerr *config.Errors
	if errors.As(err, &cerr) || errors.Is(err, os.ErrNotExist) {
		code := a.configError(err)
		if cerr == nil {
			return code
		}
		if names := cerr.OnlyMissingSecrets(); len(names) > 0 {
			a.fail("this command needs %s set in the environment (read-only commands such as "+
				"'ticket show' and 'mail list' do not)", strings.Join(names, ", "))
		}
		return code
	}
	return a.fail("%v", err)
}
