package schema_test

import (
	"context"
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
