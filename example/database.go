package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/schema"
)

// defaultConnectTimeout bounds each new connection of the pool (dial, TLS,
// authentication) when DATABASE_URL sets no connect_timeout.
const defaultConnectTimeout = 10 * time.Second

// cancelDeadlineDelay is how long PostgreSQL gets to cancel a statement whose
// caller gave up before pgx abandons the connection after all (README, "When
// a caller gives up": behind PgBouncer a cancel request cannot end a queued
// statement, and the call then returns this much late).
const cancelDeadlineDelay = 500 * time.Millisecond

// database is the pool the example runs on and how to let it go.
type database struct {
	pool     *pgxpool.Pool
	describe string // for the start banner; never the DSN, which may hold a password
	close    func() error
}

// openDatabase opens the pool on cfg.poolConfig, DATABASE_URL or, with
// neither, a throwaway PostgreSQL server that close stops and removes. The
// pool logs to log (withPoolLogger).
func openDatabase(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) (*database, error) {
	switch {
	case cfg.poolConfig != nil:
		return connect(ctx, cfg.poolConfig.Copy(), log, "the pool configuration given by the caller", nil)
	case cfg.DatabaseURL != "":
		pc, err := pgxpool.ParseConfig(cfg.DatabaseURL) // its errors redact the password
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		db, err := connect(ctx, pc, log, "DATABASE_URL", nil)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		return db, nil
	}
	return openThrowaway(ctx, log, stdout)
}

// connect opens a pool on pc with the app's logger and a connect timeout
// (defaultConnectTimeout unless pc has one) and checks that it reaches the
// server. release, if not nil, runs after the pool is closed.
func connect(ctx context.Context, pc *pgxpool.Config, log *slog.Logger, describe string, release func() error) (*database, error) {
	// Without a timeout a server that takes the connection but never
	// answers (a wrong port, a stuck proxy) holds the start, and later each
	// request that needs a new connection, for good.
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	// A statement whose caller gives up (a client gone, the Guard's
	// StoreTimeout passed) is cancelled by PostgreSQL and its connection
	// kept; pgx's default abandons the connection (README, "When a caller
	// gives up").
	pc.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadlineDelay}
	}
	withPoolLogger(pc, log)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	return &database{pool: pool, describe: describe, close: func() error {
		pool.Close()
		if release != nil {
			return release()
		}
		return nil
	}}, nil
}

// prepareDatabase readies the database at start: an application runs
// sessionguard's migrations (schema.Migrate, or the same files with its own
// migration tool) after its own tables exist, since the sessions table
// references users and tenants. The demo creates those tables first and
// (re)seeds its accounts afterwards.
func prepareDatabase(ctx context.Context, pool *pgxpool.Pool, cfg config) error {
	if err := createDemoTables(ctx, pool); err != nil {
		return err
	}
	if err := schema.Migrate(ctx, pool); err != nil {
		return err
	}
	return seedDemo(ctx, pool, cfg)
}
