// Package dbtest gives each test its own PostgreSQL database at the newest
// schema, cloned from a template that is migrated once per schema version.
//
// The server comes from POSTDESK_TEST_DATABASE_URL, by default the local
// server at 127.0.0.1:5432 as user postgres.
package dbtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for pgtestdb
	"github.com/peterldowns/pgtestdb"

	"github.com/postdesk/postdesk/migrations"
)

// DefaultURL is the server tests use when POSTDESK_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the test server's connection string.
func ServerURL() string {
	if u := os.Getenv("POSTDESK_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

type migrator struct{}

func (migrator) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Files(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	pool, err := pgxpool.New(ctx, conf.URL())
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = migrations.Up(ctx, pool)
	return err
}

// Config returns the pgtestdb configuration for the test server.
func Config(t testing.TB) pgtestdb.Config {
	t.Helper()
	pc, err := pgxpool.ParseConfig(ServerURL())
	if err != nil {
		t.Fatalf("dbtest: POSTDESK_TEST_DATABASE_URL: %v", err)
	}
	cc := pc.ConnConfig
	return pgtestdb.Config{
		DriverName:                "pgx",
		Host:                      cc.Host,
		Port:                      strconv.Itoa(int(cc.Port)),
		User:                      cc.User,
		Password:                  cc.Password,
		Database:                  cc.Database,
		Options:                   "sslmode=disable",
		ForceTerminateConnections: true,
	}
}

// URL creates a fresh database at the newest schema for this test and
// returns its connection string. The database is dropped when the test
// passes and kept for inspection when it fails.
func URL(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, Config(t), migrator{}).URL()
}

// Empty creates a fresh database without any schema, for migration tests.
func Empty(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, Config(t), pgtestdb.NoopMigrator{}).URL()
}

// Pool opens a pool on a fresh database at the newest schema, closed at the
// end of the test.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), URL(t))
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Count runs a query that returns one number, such as a count(*), and fails
// the test if it cannot: the rigs of several packages ask their databases
// how many rows something left.
func Count(t testing.TB, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("dbtest: %s: %v", query, err)
	}
	return n
}
