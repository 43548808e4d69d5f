package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/pgstore"
)

// connectTimeout bounds connecting when DATABASE_URL sets no connect_timeout:
// an unreachable server is reported in seconds, not after the OS gives up.
const connectTimeout = 10 * time.Second

// connect opens a small pool on DATABASE_URL, checks that the database
// answers, and bounds its statements' waits for locks by lockTimeout
// (watchLockWaits; 0: no bound).
//
// The parse error is a fixed sentence: pgx redacts passwords from its own
// message only on a best-effort basis, and a malformed URL is exactly where
// that effort can miss. Connection errors name user, host and database, never
// the password.
func connect(ctx context.Context, getenv func(string) string, lockTimeout time.Duration) (*pgxpool.Pool, error) {
	if lockTimeout < 0 {
		return nil, usagef("--lock-timeout %v is negative (0: wait without limit)", lockTimeout)
	}
	dsn := getenv("DATABASE_URL")
	if dsn == "" {
		return nil, usagef("DATABASE_URL is not set: export DATABASE_URL=postgres://user@host:5432/dbname (or key=value pairs)")
	}
	if passwordCutShort(dsn) {
		return nil, usagef("DATABASE_URL has an @ after the end of its user information: percent-encode an @ (%%40) or a / (%%2F) in the password; its text is not repeated here because it holds a password")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, usagef("DATABASE_URL is not a PostgreSQL connection string (postgres://user@host:5432/dbname or key=value pairs); its text is not repeated here because it may hold a password")
	}
	// One command, one statement at a time; a migration marked to run
	// outside a transaction takes a second (schema.Migrate holds its lock on
	// the first meanwhile), the lock watch a third.
	cfg.MaxConns = 3
	// Replacing any name DATABASE_URL gives: the lock watch finds this
	// run's statements by it.
	application := newApplicationName()
	cfg.ConnConfig.RuntimeParams["application_name"] = application
	// pgx's default mode prepares named statements, which PgBouncer in
	// transaction pooling (README, "Behind PgBouncer") keeps on its server
	// connections: the next run handed one fails with "prepared statement
	// ... already exists". cache_describe uses only the unnamed statement and
	// works direct as well; a DATABASE_URL that names a mode keeps it, pgx's
	// default (cache_statement) too when named.
	if !namesQueryExecMode(dsn) {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	if lockTimeout > 0 {
		var version int
		if err := pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect to the database: %w", err)
		}
		if err := lockWatchRefused(version); err != nil {
			pool.Close()
			return nil, err
		}
	}
	watchLockWaits(ctx, pool, application, lockTimeout)
	return pool, nil
}

// lockWatchRefused refuses, before any work, a --lock-timeout the server
// cannot give (server_version_num below 14's): the watch reads
// pg_locks.waitstart, which PostgreSQL 13 lacks, and would otherwise fail
// each poll and bound nothing.
func lockWatchRefused(serverVersionNum int) error {
	if serverVersionNum < 140000 {
		return usagef("--lock-timeout needs PostgreSQL 14 or newer (it reads pg_locks.waitstart); pass --lock-timeout 0 to wait for locks without limit")
	}
	return nil
}

// namesQueryExecMode reports whether dsn (already parsed by pgx) sets
// default_query_exec_mode: pgx's parsed config holds the default
// cache_statement whether it was named or not, and pgconn keeps the settings
// it does not know itself, that one among them, as run-time parameters.
func namesQueryExecMode(dsn string) bool {
	c, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return false
	}
	_, named := c.RuntimeParams["default_query_exec_mode"]
	return named
}

// passwordCutShort reports whether dsn is a URL whose password holds an
// unencoded @ or /, so that part of it would be read as the host, port or
// database name, which a connection error repeats. pgx, like libpq, ends the
// user information at the first @ before the first /: the rest of a password
// with an @ becomes the host (an @ in the host part, which no host name has),
// and one with a / makes the password's first part the port and its rest the
// database name (an @ in the path, before any query, with none before the
// first /, or, after a user information, one followed by another /). An @ in
// a database name or the query is left alone; a # or ? in the password is
// read as part of it (pgx's parser is libpq's, not net/url's).
func passwordCutShort(dsn string) bool {
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		rest, ok := strings.CutPrefix(dsn, scheme)
		if !ok {
			continue
		}
		userInfo := false
		if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
			userInfo, rest = true, rest[i+1:]
		}
		hosts, path, _ := strings.Cut(rest, "/")
		hosts, _, _ = strings.Cut(hosts, "?")
		path, _, _ = strings.Cut(path, "?")
		if userInfo {
			_, afterAt, found := strings.Cut(path, "@")
			return strings.Contains(hosts, "@") || found && strings.Contains(afterAt, "/")
		}
		return strings.Contains(path, "@")
	}
	return false
}

// openStore connects (see connect) and returns a Store over the pool, which
// the caller closes.
func openStore(ctx context.Context, getenv func(string) string, lockTimeout time.Duration, cfg pgstore.Config) (*pgstore.Store, *pgxpool.Pool, error) {
	pool, err := connect(ctx, getenv, lockTimeout)
	if err != nil {
		return nil, nil, err
	}
	store, err := pgstore.New(pool, cfg)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return store, pool, nil
}
