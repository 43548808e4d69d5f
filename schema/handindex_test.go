package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/schema"
)

// TestMigrateKeepsAHandBuiltActiveIndex: on a large table a DBA builds
// migration 025's index by hand first, without blocking writes (README, "The
// schema"); Migrate then keeps that index instead of building it again, and
// records 025 as applied.
func TestMigrateKeepsAHandBuiltActiveIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := startingPoint(t, seedByHand)
	if _, err := pool.Exec(ctx,
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_active_id ON sessions (id) WHERE is_active = true"); err != nil {
		t.Fatalf("build the index by hand: %v", err)
	}
	indexOID := func() uint32 {
		t.Helper()
		var oid uint32
		if err := pool.QueryRow(ctx, "SELECT 'idx_sessions_active_id'::regclass::oid").Scan(&oid); err != nil {
			t.Fatal(err)
		}
		return oid
	}
	before := indexOID()

	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if after := indexOID(); after != before {
		t.Errorf("Migrate replaced the hand-built index (oid %d, now %d)", before, after)
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
	if len(records) != len(schema.Migrations()) || records[len(records)-1].Version != 28 {
		t.Fatalf("recorded %+v, want every migration up to 028", records)
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
