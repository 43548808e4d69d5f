package schema

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BaseVersion is the library's number for the migration that creates the
// sessions table and its functions (022_add_session_management.sql, the
// application's own migration 022): the base every later migration builds on,
// adopted rather than run where the database already has it.
const BaseVersion = 22

// ErrMissingTable means a table that migration 022 references (users or
// tenants) does not exist in the search path, and 022 must run: there is no
// sessions table to adopt.
var ErrMissingTable = errors.New("schema: required table missing")

// ErrForeignSessionsTable means a table named sessions exists but is not the
// one migration 022 creates, so adopting it would be wrong: a column is
// missing, or has a type, a nullability or a default that the library cannot
// work with (the error names each, and what 022 gives it); or it is another
// application's, found through the search path (it references a users or
// tenants table other than the one the search path finds).
var ErrForeignSessionsTable = errors.New("schema: sessions table is not the one of migration 022")

// ErrLedgerElsewhere means the search path finds the sessions table in one
// schema and the ledger (sessionguard_schema_migrations) in another schema
// that has a sessions table of its own: the ledger is another application's,
// and what it records says nothing of this sessions table.
var ErrLedgerElsewhere = errors.New("schema: the ledger found is another schema's")

// ErrChecksumMismatch means the ledger records a migration with SQL other
// than the embedded file's: the database ran a different text under the same
// version, and what the library's code expects of it may not be there.
var ErrChecksumMismatch = errors.New("schema: recorded migration differs from the embedded one")

// migrationsTable records what Migrate applied.
const migrationsTable = "sessionguard_schema_migrations"

// LockKey is the key of the transaction-scoped advisory lock that
// serialises Migrate's steps across instances, and that every tool form's
// migration takes first. pg_locks shows it as an advisory lock with classid
// LockKey>>32, objid LockKey&0xffffffff and objsubid 1: where a DBA (or
// "sessionguard migrate" giving up after --lock-timeout) finds who holds
// the turn.
const LockKey int64 = 0x5e551_0022_0000

// Polling the migration lock: the first retry comes soon, later ones back off.
const (
	lockPollFirst = 5 * time.Millisecond
	lockPollMax   = 250 * time.Millisecond
)

// Migrate applies every embedded migration that the database has not yet
// recorded, in version order, each in its own transaction with its record.
//
// It is idempotent and safe when several instances start at once: every step
// (the bookkeeping table, then each migration) runs in a transaction that
// holds a transaction-scoped advisory lock and looks again at what is
// recorded, so the instances take turns and the later ones find nothing left
// to do. The lock goes with the transaction, so Migrate works through
// PgBouncer in transaction-pooling mode, where a session lock would be taken
// on one server connection and released on another. A waiting instance polls
// the lock (pg_try_advisory_xact_lock, between transactions) rather than
// queue on it, so it holds no snapshot that a CREATE INDEX CONCURRENTLY of
// the instance at work would wait for.
//
// A database that ran migration 022 by hand is adopted: recorded, not run
// again (a function of 022's dropped since is created again, alone). It fails
// with ErrMissingTable when users or tenants is missing and there is no
// sessions table to adopt; with ErrForeignSessionsTable when a different
// sessions table is in the way (one that lacks 022's columns, or that the
// library cannot work with: the error names each column and what 022 gives
// it); and with ErrChecksumMismatch when a recorded migration's checksum is
// not the embedded file's (it is never re-run or skipped silently). On a
// database that has every migration recorded it changes nothing and needs no
// privilege but reading sessionguard_schema_migrations, so an application
// whose role may create nothing can call it after a DBA migrated.
// A migration marked to run outside a transaction runs on a second
// connection of pool while the first holds the lock.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return migrate(ctx, pool, migrations)
}

// migrate is Migrate with the migrations to apply, in version order.
func migrate(ctx context.Context, pool *pgxpool.Pool, ms []Migration) error {
	err := locked(ctx, pool, func(tx pgx.Tx) error {
		var (
			sessionsSchema, ledgerSchema *string
			ledgerBesideSessions         bool // the ledger's schema has a sessions table
		)
		if err := tx.QueryRow(ctx, `SELECT
			(SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('sessions')),
			(SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)),
			EXISTS (SELECT 1 FROM pg_class l JOIN pg_class s ON s.relnamespace = l.relnamespace
			        WHERE l.oid = to_regclass($1) AND s.relname = 'sessions')`,
			snapshotFree, migrationsTable).Scan(&sessionsSchema, &ledgerSchema, &ledgerBesideSessions); err != nil {
			return fmt.Errorf("schema: look up sessions and %s: %w", migrationsTable, err)
		}
		// Only running 022 needs users and tenants (its foreign keys): a
		// sessions table to adopt may reference tables of other names, and
		// nothing after 022 reads them.
		if sessionsSchema == nil {
			if err := requireTables(ctx, tx, "users", "tenants"); err != nil {
				return err
			}
		}
		// Another application's sessions table found through the search
		// path references another users (or tenants) table than the one the
		// path finds: this application's ids would be checked against, and
		// its revocations end, the other application's sessions.
		if sessionsSchema != nil {
			var references, found string
			err := tx.QueryRow(ctx, otherApplicationSQL, snapshotFree).Scan(&references, &found)
			switch {
			case err == nil:
				return fmt.Errorf("%w: the sessions table the search path finds, in schema %q, references %s, "+
					"but the search path finds %s: it is another application's; migrate with search_path set to "+
					"the schema of %[4]s alone, which makes that schema's own sessions table",
					ErrForeignSessionsTable, *sessionsSchema, references, found)
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("schema: look up the references of the sessions table: %w", err)
			}
		}
		// Another application's ledger found through the search path, kept
		// beside its own sessions table, would say that this sessions table
		// is migrated when it is not. A ledger in a schema without a
		// sessions table is this one's: Migrate makes it in the first
		// schema of the path, which need not be the adopted table's.
		if sessionsSchema != nil && ledgerSchema != nil && *sessionsSchema != *ledgerSchema && ledgerBesideSessions {
			return fmt.Errorf("%w: the search path finds the sessions table in schema %q and %s in schema %q; "+
				"migrate once with search_path set to %[2]q alone, which makes that schema's own ledger",
				ErrLedgerElsewhere, *sessionsSchema, migrationsTable, *ledgerSchema)
		}
		// Only when it is missing: CREATE TABLE IF NOT EXISTS checks the
		// CREATE privilege on the schema even when the table exists, and an
		// application's role that a DBA migrated for has none.
		if ledgerSchema != nil {
			return nil
		}
		if _, err := tx.Exec(ctx, ledgerDDL); err != nil {
			return fmt.Errorf("schema: create %s: %w", migrationsTable, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := locked(ctx, pool, func(tx pgx.Tx) error { return step(ctx, pool, tx, m) }); err != nil {
			return err
		}
	}
	return nil
}

// snapshotFree runs a statement of the lock's transaction in the simple
// protocol, which leaves no portal, and so no snapshot, behind it. A
// completed extended-protocol portal keeps its snapshot until the
// transaction ends, and a CREATE INDEX CONCURRENTLY on another connection
// (a migration outside a transaction) would wait for it forever.
const snapshotFree = pgx.QueryExecModeSimpleProtocol

// locked runs fn in a transaction that holds the migration lock, trying
// again with backoff while another instance holds it.
func locked(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	delay := lockPollFirst
	for {
		var got bool
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", snapshotFree, LockKey).Scan(&got); err != nil {
				return fmt.Errorf("schema: take migration lock: %w", err)
			}
			if !got {
				return nil // ends the transaction: nothing is held while waiting
			}
			return fn(tx)
		})
		if err != nil || got {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("schema: wait for migration lock: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, lockPollMax)
	}
}

// step applies m unless it is recorded, under the lock that tx holds.
func step(ctx context.Context, pool *pgxpool.Pool, tx pgx.Tx, m Migration) error {
	applied, err := appliedVersions(ctx, tx)
	if err != nil {
		return err
	}
	if checksum, ok := applied[m.Version]; ok {
		if checksum != m.Checksum() {
			return fmt.Errorf("%w: %s is recorded in %s with checksum %s, the embedded file has %s; "+
				"compare the database's objects with the file before correcting the record",
				ErrChecksumMismatch, m.Name, migrationsTable, checksum, m.Checksum())
		}
		return nil
	}
	if m.Version == BaseVersion {
		adopted, err := adoptSeed(ctx, tx, m)
		if err != nil || adopted {
			return err
		}
	}
	db := execer(tx)
	if !m.inTransaction() {
		db = pool // another connection; tx keeps the lock meanwhile
	}
	if _, err := db.Exec(ctx, m.SQL); err != nil {
		return fmt.Errorf("schema: apply %s: %w", m.Name, err)
	}
	return insertRecord(ctx, tx, m)
}

// querier is what the steps read through: a transaction.
type querier interface {
	execer
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func requireTables(ctx context.Context, conn querier, names ...string) error {
	for _, name := range names {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil {
			return fmt.Errorf("schema: look up table %q: %w", name, err)
		}
		if !exists {
			return fmt.Errorf("%w: table %q not found in the search path: migration 022 references users(id) and tenants(id), create them before Migrate", ErrMissingTable, name)
		}
	}
	return nil
}

// appliedVersions maps each recorded version to its recorded checksum.
func appliedVersions(ctx context.Context, conn querier) (map[int]string, error) {
	rows, err := conn.Query(ctx, "SELECT version, checksum FROM "+migrationsTable, snapshotFree)
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", migrationsTable, err)
	}
	applied := map[int]string{}
	var version int32
	var checksum string
	_, err = pgx.ForEachRow(rows, []any{&version, &checksum}, func() error {
		applied[int(version)] = checksum
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", migrationsTable, err)
	}
	return applied, nil
}

// execer is what both a connection and a transaction offer.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertRecord(ctx context.Context, db execer, m Migration) error {
	_, err := db.Exec(ctx,
		"INSERT INTO "+migrationsTable+" (version, name, checksum) VALUES ($1, $2, $3)",
		m.Version, m.Name, m.Checksum())
	if err != nil {
		return fmt.Errorf("schema: record %s: %w", m.Name, err)
	}
	return nil
}

// Record is one row of what Migrate applied.
type Record struct {
	Version   int
	Name      string
	Checksum  string
	Adopted   bool // the database already had the migration's objects (022: its sessions table), which undoing it keeps
	AppliedAt time.Time
}

// Applied lists what Migrate recorded, in version order. It returns no
// records and no error on a database that was never migrated.
func Applied(ctx context.Context, pool *pgxpool.Pool) ([]Record, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", migrationsTable).Scan(&exists); err != nil {
		return nil, fmt.Errorf("schema: look up %s: %w", migrationsTable, err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := pool.Query(ctx,
		"SELECT version, name, checksum, adopted, applied_at FROM "+migrationsTable+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", migrationsTable, err)
	}
	records, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) {
		var r Record
		var v int32
		err := row.Scan(&v, &r.Name, &r.Checksum, &r.Adopted, &r.AppliedAt)
		r.Version = int(v)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", migrationsTable, err)
	}
	return records, nil
}
