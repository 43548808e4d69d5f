package schema_test

import (
	"context"
	"strings"
	"testing"

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
