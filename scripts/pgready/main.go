// Command pgready exits 0 when the PostgreSQL server at the URL given as its
// argument accepts a connection within five seconds, and 1 otherwise.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pgready POSTGRES_URL")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgready: %v\n", err)
		os.Exit(1)
	}
	conn.Close(ctx)
}
