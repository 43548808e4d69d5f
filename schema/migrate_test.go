package schema_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// seedSHA256 is the SHA-256 of ../shared/seed/022_add_session_management.sql as
// the team shipped it: the embedded 022 must be that file, byte for byte.
const seedSHA256 = "bec78e9fabf1639b7fc64e8e43cbeefb73d7f8d3ed4a87e2fc56e30126e825a2"

func TestSeedMigrationIsTheShippedFile(t *testing.T) {
	ms := schema.Migrations()
	if len(ms) < 2 {
		t.Fatalf("want at least migrations 022 and 023, got %d", len(ms))
	}
	if ms[0].Version != schema.BaseVersion || ms[0].Name != "022_add_session_management.sql" {
		t.Fatalf("first migration = %d %q, want the seed", ms[0].Version, ms[0].Name)
	}
	if got := ms[0].Checksum(); got != seedSHA256 {
		t.Fatalf("embedded 022 checksum %s differs from the shipped seed %s", got, seedSHA256)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version <= ms[i-1].Version {
			t.Fatalf("migrations out of order: %d after %d", ms[i].Version, ms[i-1].Version)
		}
	}
}

func versions(t *testing.T, pool *pgxpool.Pool) map[int]bool {
	t.Helper()
	records, err := schema.Applied(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	adopted := map[int]bool{}
	for _, r := range records {
		adopted[r.Version] = r.Adopted
	}
	return adopted
}

func TestMigrateFreshDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)

	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	got := versions(t, pool)
	for _, m := range schema.Migrations() {
		adopted, ok := got[m.Version]
		if !ok {
			t.Errorf("migration %s not recorded", m.Name)
		}
		if adopted {
			t.Errorf("migration %s recorded as adopted on a fresh database", m.Name)
		}
	}
	// Idempotent: a second run changes nothing and fails on nothing.
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if again := versions(t, pool); len(again) != len(got) {
		t.Fatalf("second Migrate recorded %d migrations, first %d", len(again), len(got))
	}
}

func TestMigrateAdoptsSeedRunByHand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)

	// A database in the field: the seed file ran verbatim, and has a session.
	if _, err := pool.Exec(ctx, schema.Migrations()[0].SQL); err != nil {
		t.Fatalf("run seed by hand: %v", err)
	}
	user := pgtest.CreateUser(t, pool, "field@example.com", 0)
	hash := strings.Repeat("ab", 32)
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
		VALUES ($1, $2, now() + interval '8 hours')`, user, hash); err != nil {
		t.Fatal(err)
	}

	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate on a seeded database: %v", err)
	}
	got := versions(t, pool)
	if adopted, ok := got[schema.BaseVersion]; !ok || !adopted {
		t.Fatalf("022 recorded=%v adopted=%v, want recorded as adopted", ok, adopted)
	}
	for _, m := range schema.Migrations()[1:] {
		if adopted, ok := got[m.Version]; !ok || adopted {
			t.Errorf("%s recorded=%v adopted=%v, want applied", m.Name, ok, adopted)
		}
	}

	// The existing session survives and the seed's functions still answer.
	var valid bool
	var idle int32
	if err := pool.QueryRow(ctx, "SELECT is_valid, seconds_until_idle_timeout FROM get_session_status($1)", hash).
		Scan(&valid, &idle); err != nil {
		t.Fatal(err)
	}
	if !valid || idle < 14390 || idle > 14400 {
		t.Fatalf("get_session_status after Migrate = valid %v idle %d, want valid with ~14400 s", valid, idle)
	}
}

func TestMigrateConcurrentInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)

	const instances = 6
	errs := make(chan error, instances)
	var wg sync.WaitGroup
	for range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- schema.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	records, err := schema.Applied(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(schema.Migrations()) {
		t.Fatalf("recorded %d migrations, want %d exactly once each", len(records), len(schema.Migrations()))
	}
}

func TestMigrateRequiresUsersAndTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewEmptyPool(t)

	err := schema.Migrate(ctx, pool)
	if !errors.Is(err, schema.ErrMissingTable) {
		t.Fatalf("Migrate without users = %v, want ErrMissingTable", err)
	}
	if !strings.Contains(err.Error(), `"users"`) {
		t.Fatalf("error %q does not name the missing table", err)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE users (id SERIAL PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if err := schema.Migrate(ctx, pool); !errors.Is(err, schema.ErrMissingTable) || !strings.Contains(err.Error(), `"tenants"`) {
		t.Fatalf("Migrate without tenants = %v, want ErrMissingTable naming tenants", err)
	}
	if records, _ := schema.Applied(ctx, pool); len(records) != 0 {
		t.Fatalf("a failed Migrate recorded %d migrations", len(records))
	}
}

func TestMigrateRefusesAnotherSessionsTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)
	// scs's postgresstore uses a table of this name.
	if _, err := pool.Exec(ctx, "CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	err := schema.Migrate(ctx, pool)
	if !errors.Is(err, schema.ErrForeignSessionsTable) {
		t.Fatalf("Migrate = %v, want ErrForeignSessionsTable", err)
	}
	if !strings.Contains(err.Error(), "session_token_hash") {
		t.Fatalf("error %q does not say what is missing", err)
	}
}

func TestMigrateHonoursContext(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewBarePool(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := schema.Migrate(ctx, pool); err == nil {
		t.Fatal("Migrate with a cancelled context succeeded")
	}
	// The lock was not left behind: a real run still goes through.
	if err := schema.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("Migrate after a cancelled one: %v", err)
	}
}

// TestMigrateBehindPgBouncer runs concurrent instances of Migrate through
// PgBouncer in transaction-pooling mode, where a session lock would be taken
// on one server connection and released on another: each migration is
// applied exactly once, and no lock is left behind.
func TestMigrateBehindPgBouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bc := pgtest.NewBarePoolBounced(t)

	const instances = 4
	errs := make(chan error, instances)
	var wg sync.WaitGroup
	for range instances {
		wg.Go(func() { errs <- schema.Migrate(ctx, bc.Pool) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Migrate through PgBouncer: %v", err)
		}
	}
	records, err := schema.Applied(ctx, bc.Direct)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(schema.Migrations()) {
		t.Fatalf("recorded %d migrations, want %d exactly once each", len(records), len(schema.Migrations()))
	}
	var held int
	if err := bc.Direct.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Fatalf("%d advisory locks held after Migrate returned", held)
	}
	if err := schema.Migrate(ctx, bc.Pool); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
}

// A migration outside a transaction (CREATE INDEX CONCURRENTLY) runs while
// the lock's transaction waits on another connection. Neither that
// transaction nor the instances waiting for the lock may hold a snapshot the
// index build would wait for: concurrent instances, direct and through
// PgBouncer, must all finish, with the index built and valid.
func TestMigrateConcurrentIndexWithInstancesWaiting(t *testing.T) {
	t.Parallel()
	ms := append(schema.Migrations(), schema.Migration{
		Version: 999_001,
		Name:    "999001_concurrent_index.sql",
		SQL:     schema.NoTransaction + "\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_test_user ON sessions (user_id);\n",
	})
	for _, through := range []string{"direct", "pgbouncer"} {
		t.Run(through, func(t *testing.T) {
			t.Parallel()
			bc := pgtest.NewBarePoolBounced(t)
			pool := bc.Direct
			if through == "pgbouncer" {
				pool = bc.Pool
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			const instances = 4
			errs := make(chan error, instances)
			var wg sync.WaitGroup
			for range instances {
				wg.Go(func() { errs <- schema.MigrateList(ctx, pool, ms) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("Migrate (a deadlock ends in the minute's timeout): %v", err)
				}
			}
			records, err := schema.Applied(ctx, bc.Direct)
			if err != nil || len(records) != len(ms) {
				t.Fatalf("recorded %d migrations, %v; want %d exactly once each", len(records), err, len(ms))
			}
			var valid bool
			if err := bc.Direct.QueryRow(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_test_user'::regclass`).Scan(&valid); err != nil || !valid {
				t.Fatalf("index valid = %v, %v; want a valid index", valid, err)
			}
		})
	}
}

// TestMigrateRefusesChecksumDrift: a migration recorded with other SQL than
// the embedded file's (edited in place, or recorded by hand) is reported, not
// taken as applied: the functions the library calls may be the old ones.
func TestMigrateRefusesChecksumDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	drifted := schema.Migrations()[2]
	if _, err := pool.Exec(ctx, "UPDATE sessionguard_schema_migrations SET checksum = 'an older text' WHERE version = $1", drifted.Version); err != nil {
		t.Fatal(err)
	}
	err := schema.Migrate(ctx, pool)
	if !errors.Is(err, schema.ErrChecksumMismatch) || !strings.Contains(err.Error(), drifted.Name) {
		t.Fatalf("Migrate with %s drifted = %v, want ErrChecksumMismatch naming it", drifted.Name, err)
	}
}

// TestMigrateAdoptsSeedWithoutAllFunctions: a database that ran the seed by
// hand and later dropped one of its functions has the application's sessions
// table: Migrate restores the function and records 022 as adopted, so that a
// tool's down later keeps the table and its rows.
func TestMigrateAdoptsSeedWithoutAllFunctions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)
	if _, err := pool.Exec(ctx, schema.Migrations()[0].SQL); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "DROP FUNCTION cleanup_expired_sessions()"); err != nil {
		t.Fatal(err)
	}
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if adopted, ok := versions(t, pool)[schema.BaseVersion]; !ok || !adopted {
		t.Errorf("022 recorded %v, adopted %v; want recorded as adopted", ok, adopted)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT cleanup_expired_sessions()").Scan(&n); err != nil {
		t.Errorf("the dropped seed function is not back: %v", err)
	}
}

// TestMigrateTakesCRLFCheckoutsForTheSameFiles: a checkout whose line endings
// git turned into CRLF (core.autocrlf on Windows) embeds the same migrations
// with other bytes. Migrate built from it must find a database that a
// build from an LF checkout migrated up to date, not stop it with
// ErrChecksumMismatch, and the other way round.
func TestMigrateTakesCRLFCheckoutsForTheSameFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	crlf := func(ms []schema.Migration) []schema.Migration {
		out := make([]schema.Migration, len(ms))
		for i, m := range ms {
			m.SQL = strings.ReplaceAll(m.SQL, "\n", "\r\n")
			m.Down = strings.ReplaceAll(m.Down, "\n", "\r\n")
			out[i] = m
		}
		return out
	}
	lf := schema.Migrations()
	tests := []struct {
		name        string
		first, then []schema.Migration
	}{
		{"LF first, then CRLF", lf, crlf(lf)},
		{"CRLF first, then LF", crlf(lf), lf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewBarePool(t)
			if err := schema.MigrateList(ctx, pool, tt.first); err != nil {
				t.Fatalf("first Migrate: %v", err)
			}
			if err := schema.MigrateList(ctx, pool, tt.then); err != nil {
				t.Errorf("Migrate from the other checkout: %v; want nil (the same migrations)", err)
			}
		})
	}
}
