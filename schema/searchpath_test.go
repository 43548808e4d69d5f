package schema_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestMigrateSecondSchema: a database with one sessions table per schema (a
// schema per environment or per customer, chosen by search_path) gets the
// same constraints, indexes and triggers in the second schema as in the
// first. A migration that looked for one of its objects by name across the
// whole database found the first schema's and skipped the second's.
func TestMigrateSecondSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate in public: %v", err)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA second"); err != nil {
		t.Fatal(err)
	}
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = "second"
	second, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	if _, err := second.Exec(ctx, pgtest.FixtureSQL); err != nil {
		t.Fatal(err)
	}
	if err := schema.Migrate(ctx, second); err != nil {
		t.Fatalf("Migrate in schema second: %v", err)
	}
	public, inSecond := sessionsObjects(t, pool, "public"), sessionsObjects(t, pool, "second")
	if !slices.Equal(public, inSecond) {
		t.Fatalf("sessions in schema second has\n%q\nwant as in public\n%q", inSecond, public)
	}
}

// sessionsObjects names the constraints, indexes and triggers of the sessions
// table in schema nsp.
func sessionsObjects(t *testing.T, pool *pgxpool.Pool, nsp string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k
		WHERE conrelid = format('%I.sessions', $1::text)::regclass AND contype <> 'f'
		UNION ALL
		SELECT 'index ' || c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = format('%I.sessions', $1::text)::regclass
		UNION ALL
		SELECT 'trigger ' || tgname FROM pg_trigger
		WHERE tgrelid = format('%I.sessions', $1::text)::regclass AND NOT tgisinternal
		ORDER BY 1`, nsp)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}
