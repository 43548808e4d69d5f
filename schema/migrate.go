package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// tenants) does not exist in the search path.
var ErrMissingTable = errors.New("schema: required table missing")

// ErrForeignSessionsTable means a table named sessions exists but is not the
// one migration 022 creates, so adopting it would be wrong.
var ErrForeignSessionsTable = errors.New("schema: sessions table is not the one of migration 022")

// migrationsTable records what Migrate applied.
const migrationsTable = "sessionguard_schema_migrations"

// lockKey is the pg_advisory_lock key that serialises Migrate across instances.
const lockKey int64 = 0x5e551_0022_0000

// Migrate applies every embedded migration that the database has not yet
// recorded, in version order, each in its own transaction with its record.
//
// It is idempotent and safe when several instances start at once: the
// instances queue on a PostgreSQL advisory lock, and the later ones find
// nothing left to do. A database that ran migration 022 by hand is adopted
// (recorded, not re-run). It fails with ErrMissingTable when users or tenants
// is missing, and with ErrForeignSessionsTable when a different sessions table
// is in the way.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("schema: acquire connection: %w", err)
	}
	defer conn.Release()

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("schema: take migration lock: %w", err)
	}
	defer func() {
		// A connection that still holds the lock must not go back to the pool.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlockCtx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
			_ = conn.Conn().Close(unlockCtx)
		}
	}()

	return migrateLocked(ctx, conn.Conn())
}

func migrateLocked(ctx context.Context, conn *pgx.Conn) error {
	if err := requireTables(ctx, conn, "users", "tenants"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, ledgerDDL); err != nil {
		return fmt.Errorf("schema: create %s: %w", migrationsTable, err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		if m.Version == BaseVersion {
			adopted, err := adoptSeed(ctx, conn, m)
			if err != nil {
				return err
			}
			if adopted {
				continue
			}
		}
		if err := apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

func requireTables(ctx context.Context, conn *pgx.Conn, names ...string) error {
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

func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM "+migrationsTable)
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", migrationsTable, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %w", migrationsTable, err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[int(v)] = true
	}
	return applied, nil
}

// seedColumns are the columns migration 022 gives the sessions table.
var seedColumns = []string{
	"id", "user_id", "session_token_hash", "created_at", "last_activity_at", "absolute_expires_at",
	"ip_address", "user_agent", "tenant_id", "is_active", "revoked_at", "revoke_reason", "ended_at", "app_type",
}

// seedFunctions are the functions migration 022 creates, with their signatures.
var seedFunctions = []string{
	"cleanup_expired_sessions()",
	"get_session_status(character varying)",
	"update_session_activity(character varying)",
	"revoke_session(character varying, character varying)",
	"revoke_all_user_sessions(integer, character varying)",
}

// adoptSeed records migration 022 without running it when the database already
// has its sessions table and functions. It reports false when the table is
// absent or a function is missing: then 022 (idempotent) runs as usual.
func adoptSeed(ctx context.Context, conn *pgx.Conn, m Migration) (bool, error) {
	var present []string
	err := conn.QueryRow(ctx, `
		SELECT coalesce(array_agg(attname::text), '{}')
		FROM pg_attribute
		WHERE attrelid = to_regclass('sessions') AND attnum > 0 AND NOT attisdropped`).Scan(&present)
	if err != nil {
		return false, fmt.Errorf("schema: inspect sessions table: %w", err)
	}
	if len(present) == 0 {
		return false, nil
	}
	have := make(map[string]bool, len(present))
	for _, c := range present {
		have[c] = true
	}
	var missing []string
	for _, c := range seedColumns {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return false, fmt.Errorf("%w: it lacks column(s) %s; rename the other table or point search_path elsewhere",
			ErrForeignSessionsTable, strings.Join(missing, ", "))
	}
	for _, fn := range seedFunctions {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT to_regprocedure($1) IS NOT NULL", fn).Scan(&exists); err != nil {
			return false, fmt.Errorf("schema: look up function %s: %w", fn, err)
		}
		if !exists {
			return false, nil
		}
	}
	_, err = conn.Exec(ctx,
		"INSERT INTO "+migrationsTable+" (version, name, checksum, adopted) VALUES ($1, $2, $3, true)",
		m.Version, m.Name, m.Checksum())
	if err != nil {
		return false, fmt.Errorf("schema: record adoption of %s: %w", m.Name, err)
	}
	return true, nil
}

func apply(ctx context.Context, conn *pgx.Conn, m Migration) error {
	if !m.inTransaction() {
		if _, err := conn.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("schema: apply %s: %w", m.Name, err)
		}
		return insertRecord(ctx, conn, m)
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("schema: apply %s: %w", m.Name, err)
		}
		return insertRecord(ctx, tx, m)
	})
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
	Adopted   bool // recorded without running: the database already had it
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
