package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestMigrateKeepsHandBuiltIndexes: on a large table a DBA builds migration
// 025's and 029's indexes by hand first, without blocking writes (their
// headers, README "The schema"); Migrate then keeps those indexes instead of
// building them again, and records every migration as applied.
func TestMigrateKeepsHandBuiltIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := startingPoint(t, seedByHand)
	byHand := map[string]string{
		"idx_sessions_active_id":  "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_active_id ON sessions (id) WHERE is_active = true",
		"idx_sessions_live_token": "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_live_token ON sessions USING hash (session_token_hash) WHERE is_active",
	}
	indexOID := func(name string) uint32 {
		t.Helper()
		var oid uint32
		if err := pool.QueryRow(ctx, "SELECT $1::regclass::oid", name).Scan(&oid); err != nil {
			t.Fatal(err)
		}
		return oid
	}
	before := map[string]uint32{}
	for name, sql := range byHand {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("build %s by hand: %v", name, err)
		}
		before[name] = indexOID(name)
	}

	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	for name, oid := range before {
		if after := indexOID(name); after != oid {
			t.Errorf("Migrate replaced the hand-built %s (oid %d, now %d)", name, oid, after)
		}
	}
	records, err := schema.Applied(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	applied := map[int]bool{}
	for _, r := range records {
		applied[r.Version] = true
	}
	for _, m := range schema.Migrations() {
		if !applied[m.Version] {
			t.Errorf("migration %s not recorded", m.Name)
		}
	}
}

// TestMigrateAfterHandDroppedIndexes: on a busy table a DBA drops migration
// 028's indexes by hand first, with DROP INDEX CONCURRENTLY (its header);
// Migrate then finds nothing to drop, records 028 as applied, and the seed's
// functions still find sessions by token hash.
func TestMigrateAfterHandDroppedIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := startingPoint(t, seedByHand)
	for _, ix := range []string{"idx_sessions_token_hash", "idx_sessions_app_type"} {
		if _, err := pool.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+ix); err != nil {
			t.Fatalf("drop %s by hand: %v", ix, err)
		}
	}
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	records, err := schema.Applied(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(schema.Migrations()) {
		t.Fatalf("recorded %+v, want every migration", records)
	}
	var left []string
	if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(indexname::text ORDER BY indexname), '{}') FROM pg_indexes
		WHERE tablename = 'sessions' AND indexname IN ('idx_sessions_token_hash', 'idx_sessions_app_type', 'idx_sessions_tenant_id')`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "idx_sessions_tenant_id" {
		t.Errorf("indexes left: %v, want only idx_sessions_tenant_id", left)
	}
	var valid bool
	if err := pool.QueryRow(ctx, "SELECT is_valid FROM get_session_status($1)", strings.Repeat("a", 64)).Scan(&valid); err != nil || valid {
		t.Errorf("get_session_status of an unknown hash: %v, %v", valid, err)
	}
}

// TestMigrateReplacesFailedHandBuiltIndexes: a CREATE INDEX CONCURRENTLY by
// hand that fails (here on a lock_timeout, as a cancel or a deadlock would)
// leaves an INVALID index of the name behind, which the planner never uses
// (and writes may still maintain). Migrate must build the index again rather than
// take the name for a built index: IF NOT EXISTS alone left it invalid for
// good, with 029's lookups and the Cleaner's walk of 025 on the slow path.
func TestMigrateReplacesFailedHandBuiltIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)
	ms := schema.Migrations()
	var before []schema.Migration
	for _, m := range ms {
		if m.Version < 25 {
			before = append(before, m)
		}
	}
	if err := schema.MigrateList(ctx, pool, before); err != nil {
		t.Fatalf("Migrate up to 024: %v", err)
	}
	byHand := map[string]string{
		"idx_sessions_active_id":  "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_active_id ON sessions (id) WHERE is_active = true",
		"idx_sessions_live_token": "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_live_token ON sessions USING hash (session_token_hash) WHERE is_active",
	}
	for name, sql := range byHand {
		// A writer's open transaction makes the build wait, and time out
		// after it has made the index's catalog entry.
		writer, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := writer.Exec(ctx, "UPDATE sessions SET is_active = is_active WHERE false"); err != nil {
			t.Fatal(err)
		}
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SET lock_timeout = '200ms'"); err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, sql)
		_, _ = conn.Exec(ctx, "RESET lock_timeout")
		conn.Release()
		_ = writer.Rollback(ctx)
		if err == nil || !strings.Contains(err.Error(), "lock timeout") {
			t.Fatalf("build %s by hand: %v, want a lock timeout", name, err)
		}
		if valid := indexValid(t, pool, name); valid {
			t.Fatalf("%s is valid after its build failed: the test proves nothing", name)
		}
	}
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	for name := range byHand {
		if !indexValid(t, pool, name) {
			t.Errorf("%s is still invalid after Migrate", name)
		}
	}
}

func indexValid(t *testing.T, pool interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, name string) bool {
	t.Helper()
	var valid bool
	if err := pool.QueryRow(context.Background(), "SELECT indisvalid FROM pg_index WHERE indexrelid = $1::regclass", name).Scan(&valid); err != nil {
		t.Fatal(err)
	}
	return valid
}
