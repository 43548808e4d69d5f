package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
)

// openThrowaway starts a throwaway PostgreSQL server from the installed
// binaries, for `go run ./example` without DATABASE_URL. Demo only: an
// application connects to its own database.
func openThrowaway(ctx context.Context, log *slog.Logger, stdout io.Writer) (*database, error) {
	fmt.Fprintln(stdout, "DATABASE_URL is not set: starting a throwaway PostgreSQL server…")
	srv, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		return nil, err // ErrNoPostgres says how to install it
	}
	pc, err := pgxpool.ParseConfig(srv.ConnString("postgres"))
	if err != nil {
		return nil, errors.Join(err, srv.Close())
	}
	db, err := connect(ctx, pc, log, "throwaway PostgreSQL in "+srv.Dir()+" (removed on exit)", srv.Close)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("connect to the throwaway server: %w", err), srv.Close())
	}
	return db, nil
}
