package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewBarePool(t)
	env := dbEnv(pool)
	ms := schema.Migrations()

	r := runCmd(t, env, nil, "migrate")
	if r.code != exitOK {
		t.Fatalf("migrate: exit status %d: %s", r.code, r.stderr)
	}
	for _, m := range ms {
		if !strings.Contains(r.stdout, "applied "+m.Name+"\n") {
			t.Errorf("output does not say %s was applied:\n%s", m.Name, r.stdout)
		}
	}
	if recs := applied(t, pool); len(recs) != len(ms) {
		t.Fatalf("%d migrations recorded, want %d", len(recs), len(ms))
	}

	r = runCmd(t, env, nil, "migrate")
	if r.code != exitOK || strings.Contains(r.stdout, "applied") {
		t.Errorf("second migrate: exit status %d, output %q; want 0 and nothing applied", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "schema up to date: ") {
		t.Errorf("second migrate says %q", r.stdout)
	}
}

// TestMigrateAdoptsSeed: a database that ran migration 022 by hand (with a
// live session in it) is adopted, the rest applied, the session kept.
func TestMigrateAdoptsSeed(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewBarePool(t)
	liveHash := seedByHand(t, pool)

	r := runCmd(t, dbEnv(pool), nil, "migrate")
	if r.code != exitOK {
		t.Fatalf("migrate: exit status %d: %s", r.code, r.stderr)
	}
	seed := schema.Migrations()[0]
	if !strings.Contains(r.stdout, "adopted "+seed.Name) || strings.Contains(r.stdout, "applied "+seed.Name) {
		t.Errorf("migrate did not adopt %s:\n%s", seed.Name, r.stdout)
	}
	requireValid(t, pool, liveHash)
}

// TestMigratePrintIsRecognised applies the printed script with psql, as a
// DBA would, and checks the ledger it leaves, that schema.Migrate then finds
// nothing to do, and that sessions work: on an empty database, on one that ran
// migration 022 by hand and has a live session, and (with --after) on one
// schema.Migrate already migrated.
func TestMigratePrintIsRecognised(t *testing.T) {
	t.Parallel()
	psql := psqlPath(t)
	ms := schema.Migrations()
	tests := []struct {
		name     string
		prepare  func(t *testing.T, pool *pgxpool.Pool) (liveHash string)
		migrated bool // schema.Migrate ran first: the ledger is its
		args     []string
	}{
		{"empty database", nil, false, []string{"migrate", "--print"}},
		{"seed applied by hand", seedByHand, false, []string{"migrate", "--print"}},
		{"migrated, print after 023", func(t *testing.T, pool *pgxpool.Pool) string {
			if err := schema.Migrate(t.Context(), pool); err != nil {
				t.Fatal(err)
			}
			return seedSession(t, pool)
		}, true, []string{"migrate", "--print", "--after", "23"}},
		// Up to date: a script that applies nothing, not a failure that
		// stops a DBA's "print --after the highest recorded, then apply".
		{"migrated, print after the latest", func(t *testing.T, pool *pgxpool.Pool) string {
			if err := schema.Migrate(t.Context(), pool); err != nil {
				t.Fatal(err)
			}
			return seedSession(t, pool)
		}, true, []string{"migrate", "--print", "--after", strconv.Itoa(ms[len(ms)-1].Version)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewBarePool(t)
			var liveHash string
			if tt.prepare != nil {
				liveHash = tt.prepare(t, pool)
			}
			before := applied(t, pool)
			r := runCmd(t, nil, nil, tt.args...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("%v: exit status %d: %s", tt.args, r.code, r.stderr)
			}
			script := filepath.Join(t.TempDir(), "sessionguard.sql")
			if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(t.Context(), psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", script, dsn(pool)).CombinedOutput()
			if err != nil {
				t.Fatalf("psql: %v\n%s", err, out)
			}

			ledger := applied(t, pool)
			if len(ledger) != len(ms) {
				t.Fatalf("the ledger holds %d migrations, want %d: %+v", len(ledger), len(ms), ledger)
			}
			for i, m := range ms {
				rec := ledger[i]
				if rec.Version != m.Version || rec.Name != m.Name || rec.Checksum != m.Checksum() {
					t.Errorf("ledger row %d = %d %s %s, want %d %s %s", i, rec.Version, rec.Name, rec.Checksum, m.Version, m.Name, m.Checksum())
				}
			}
			if tt.migrated {
				for i := range before {
					if ledger[i] != before[i] {
						t.Errorf("the script changed schema.Migrate's record %+v to %+v", before[i], ledger[i])
					}
				}
			} else if adopted := ledger[0].Adopted; adopted != (liveHash != "") {
				t.Errorf("migration %d recorded adopted=%v; the database had it by hand: %v", ms[0].Version, adopted, liveHash != "")
			}

			if err := schema.Migrate(t.Context(), pool); err != nil {
				t.Fatal(err)
			}
			if again := applied(t, pool); !equalRecords(again, ledger) {
				t.Errorf("schema.Migrate changed the ledger after the script:\n%+v\n%+v", ledger, again)
			}
			if liveHash != "" {
				requireValid(t, pool, liveHash)
			}
			// A session opened now works through the current store.
			f := &fixture{pool: pool, store: newStore(t, pool)}
			_, hash := f.session(t, sessionguard.NewSession{UserID: f.user(t, "new@example.com")})
			requireValid(t, pool, hash)
		})
	}
}

func equalRecords(a, b []schema.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// seedByHand runs migration 022 as teams did, outside schema.Migrate, and
// opens a session the seed's way. It returns the session's token hash.
func seedByHand(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	if _, err := pool.Exec(t.Context(), schema.Migrations()[0].SQL); err != nil {
		t.Fatalf("migration 022 by hand: %v", err)
	}
	return seedSession(t, pool)
}

// seedSession opens a session with the seed's columns only, as an
// application written against migration 022 does, and returns its token hash.
func seedSession(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	user := pgtest.CreateUser(t, pool, "early@example.com", 0)
	const hash = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
	if _, err := pool.Exec(t.Context(), `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
		VALUES ($1, $2, CURRENT_TIMESTAMP + interval '8 hours')`, user, hash); err != nil {
		t.Fatal(err)
	}
	return hash
}

func requireValid(t *testing.T, pool *pgxpool.Pool, hash string) {
	t.Helper()
	st, err := newStore(t, pool).Validate(t.Context(), hash, sessionguard.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Valid() {
		t.Errorf("session is %s, want valid", st.State)
	}
}

func newStore(t *testing.T, pool *pgxpool.Pool) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(pool, pgstore.Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func applied(t *testing.T, pool *pgxpool.Pool) []schema.Record {
	t.Helper()
	recs, err := schema.Applied(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// psqlPath finds psql where pgtemp finds the server: $PG_BINDIR, Debian's
// /usr/lib/postgresql/N/bin, then $PATH. Its absence fails the test.
func psqlPath(t *testing.T) string {
	t.Helper()
	var candidates []string
	if dir := os.Getenv("PG_BINDIR"); dir != "" {
		candidates = append(candidates, filepath.Join(dir, "psql"))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	candidates = append(candidates, globbed...)
	if p, err := exec.LookPath("psql"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Fatal("psql not found (PG_BINDIR, /usr/lib/postgresql/*/bin, PATH): on Debian, apt-get install postgresql-client")
	return ""
}

// TestMigrateMissingTables: a database without the application's users and
// tenants tables fails with a message that says what to do.
func TestMigrateMissingTables(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewEmptyPool(t)
	r := runCmd(t, dbEnv(pool), nil, "migrate")
	if r.code != exitFailure || !strings.Contains(r.stderr, `table "users" not found`) || !strings.Contains(r.stderr, "create them before Migrate") {
		t.Errorf("exit status %d, stderr %q", r.code, r.stderr)
	}
}

// TestMigratePrintStopsAtAFailure: the printed script stops at the first
// migration that fails even when psql is run without -v ON_ERROR_STOP=1
// (psql's default goes on): the migrations after it must not run on a schema
// without it, nor be recorded, leaving a gap that --after would never fill.
func TestMigratePrintStopsAtAFailure(t *testing.T) {
	t.Parallel()
	psql := psqlPath(t)
	pool := pgtest.NewBarePool(t)
	// 023 cannot replace a sessionguard_check with another result type.
	if _, err := pool.Exec(t.Context(), `CREATE FUNCTION sessionguard_check(VARCHAR, BOOLEAN, INTEGER, VARCHAR, INTEGER)
		RETURNS INTEGER LANGUAGE sql AS 'SELECT 1'`); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, nil, "migrate", "--print")
	if r.code != exitOK {
		t.Fatalf("migrate --print: exit status %d: %s", r.code, r.stderr)
	}
	script := filepath.Join(t.TempDir(), "sessionguard.sql")
	if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), psql, "-X", "-q", "-f", script, dsn(pool)).CombinedOutput()
	if err == nil {
		t.Errorf("psql succeeded although migration 023 failed:\n%s", out)
	}
	var versions []int
	for _, rec := range applied(t, pool) {
		versions = append(versions, rec.Version)
	}
	if len(versions) != 1 || versions[0] != schema.BaseVersion {
		t.Errorf("recorded %v after 023 failed, want only [%d]", versions, schema.BaseVersion)
	}
}

// TestMigratePrintAfterIsDecimal: --after takes a version as the file
// names write it, zero-padded. Read as a Go literal, "030" was octal 24 (the
// script began at 025, migrations the database had) and "029" was refused.
func TestMigratePrintAfterIsDecimal(t *testing.T) {
	t.Parallel()
	last := schema.Migrations()[len(schema.Migrations())-1].Version
	for _, after := range []int{23, 29, 30} {
		for _, typed := range []string{strconv.Itoa(after), fmt.Sprintf("%03d", after)} {
			r := runCmd(t, nil, nil, "migrate", "--print", "--after", typed)
			if r.code != exitOK {
				t.Errorf("--after %s: exit status %d, stderr %q", typed, r.code, r.stderr)
				continue
			}
			var printed []int
			for _, line := range strings.Split(r.stdout, "\n") {
				if v, ok := strings.CutPrefix(line, "-- ===== migration "); ok {
					n, _ := strconv.Atoi(strings.TrimSuffix(v, " ====="))
					printed = append(printed, n)
				}
			}
			if len(printed) != last-after || printed[0] != after+1 {
				t.Errorf("--after %s printed migrations %v, want %d to %d", typed, printed, after+1, last)
			}
		}
	}
}

// TestMigratePrintAfterAnUnknownVersion: --after a version this build does
// not have means the database is ahead of it (a newer sessionguard migrated
// it) or the number is mistyped: a failure, with nothing on stdout.
func TestMigratePrintAfterAnUnknownVersion(t *testing.T) {
	t.Parallel()
	last := schema.Migrations()[len(schema.Migrations())-1].Version
	r := runCmd(t, nil, nil, "migrate", "--print", "--after", strconv.Itoa(last+1))
	if r.code != exitFailure || r.stdout != "" || !strings.Contains(r.stderr, fmt.Sprintf("the latest migration of this build is %d", last)) {
		t.Errorf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestMigrateFailureSaysWhatWasApplied: when a migration fails, the ones
// applied before it stay applied (each commits on its own), and the output
// says so before the error: an operator must know the schema is half-way.
func TestMigrateFailureSaysWhatWasApplied(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewBarePool(t)
	// 023 cannot replace a sessionguard_check with another result type.
	if _, err := pool.Exec(t.Context(), `CREATE FUNCTION sessionguard_check(VARCHAR, BOOLEAN, INTEGER, VARCHAR, INTEGER)
		RETURNS INTEGER LANGUAGE sql AS 'SELECT 1'`); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, dbEnv(pool), nil, "migrate")
	seed := schema.Migrations()[0]
	if r.code != exitFailure || r.stderr == "" {
		t.Errorf("exit status %d, stderr %q; want a failure", r.code, r.stderr)
	}
	if want := "applied " + seed.Name + "\n"; !strings.Contains(r.stdout, want) || len(applied(t, pool)) != 1 {
		t.Errorf("stdout %q, want it to say %q (%d migrations recorded)", r.stdout, want, len(applied(t, pool)))
	}
	if strings.Contains(r.stdout, "up to date") {
		t.Errorf("stdout %q says the schema is up to date", r.stdout)
	}
}
