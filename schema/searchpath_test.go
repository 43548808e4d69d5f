package schema_test

import (
	"context"
	"slices"
	"strings"
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

// TestEndingASessionOutsideItsSearchPath: an operator whose search_path does
// not name the schema of the sessions table (the application's role has it
// set, the operator's login does not) ends sessions with a schema-qualified
// UPDATE during an incident. The triggers of the table must work as they do
// for the application: the trigger of 026 deleted from sessionguard_scs_data
// as its name resolved in the operator's search_path, so the revoke failed
// (or deleted from another schema's table of that name) and the session
// stayed active.
func TestEndingASessionOutsideItsSearchPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA app"); err != nil {
		t.Fatal(err)
	}
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = "app"
	app, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	if _, err := app.Exec(ctx, pgtest.FixtureSQL); err != nil {
		t.Fatal(err)
	}
	if err := schema.Migrate(ctx, app); err != nil {
		t.Fatalf("Migrate in schema app: %v", err)
	}
	user := pgtest.CreateUser(t, app, "ops@example.com", 0)
	hash := strings.Repeat("ab", 32)
	if _, err := app.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
		VALUES ($1, $2, now() + interval '1 hour')`, user, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, `INSERT INTO sessionguard_scs_data (token_hash, data, expiry)
		VALUES ($1, '\x00', now() + interval '1 hour')`, hash); err != nil {
		t.Fatal(err)
	}
	// The operator: search_path public, the table named with its schema.
	if _, err := pool.Exec(ctx, "UPDATE app.sessions SET is_active = false, revoke_reason = 'admin_revoke' WHERE user_id = $1", user); err != nil {
		t.Fatalf("schema-qualified revoke with another search_path: %v", err)
	}
	var data int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM app.sessionguard_scs_data WHERE token_hash = $1", hash).Scan(&data); err != nil || data != 0 {
		t.Errorf("scs data of the ended session: %d rows (%v), want none", data, err)
	}
}
