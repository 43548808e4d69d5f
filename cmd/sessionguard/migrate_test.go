package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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
// DBA would, and checks that schema.Migrate finds nothing left to do and that
// sessions work: on an empty database, and (with --after the seed) on one
// that ran migration 022 by hand and has a live session.
func TestMigratePrintIsRecognised(t *testing.T) {
	t.Parallel()
	psql := psqlPath(t)
	seed := schema.Migrations()[0]
	tests := []struct {
		name   string
		byHand bool
		args   []string
	}{
		{"empty database", false, []string{"migrate", "--print"}},
		{"seed applied by hand", true, []string{"migrate", "--print", "--after", strconv.Itoa(seed.Version)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewBarePool(t)
			var liveHash string
			if tt.byHand {
				liveHash = seedByHand(t, pool)
			}
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

			printed := applied(t, pool)
			want := schema.Migrations()
			if tt.byHand {
				want = want[1:]
			}
			if len(printed) != len(want) {
				t.Fatalf("the script recorded %d migrations, want %d", len(printed), len(want))
			}
			for i, m := range want {
				if rec := printed[i]; rec.Version != m.Version || rec.Name != m.Name || rec.Checksum != m.Checksum() {
					t.Errorf("record %d = %d %s %s, want %d %s %s", i, rec.Version, rec.Name, rec.Checksum, m.Version, m.Name, m.Checksum())
				}
			}

			if err := schema.Migrate(t.Context(), pool); err != nil {
				t.Fatal(err)
			}
			after := applied(t, pool)
			for i, rec := range printed {
				if after[len(after)-len(printed)+i] != rec {
					t.Errorf("schema.Migrate re-applied %s", rec.Name)
				}
			}
			if tt.byHand {
				if len(after) != len(want)+1 || !after[0].Adopted || after[0].Version != seed.Version {
					t.Errorf("schema.Migrate did not adopt %s alone: %+v", seed.Name, after)
				}
				requireValid(t, pool, liveHash)
			} else if len(after) != len(printed) {
				t.Errorf("schema.Migrate recorded %d more migrations", len(after)-len(printed))
			}
			// A session opened now works through the current store.
			f := &fixture{pool: pool, store: newStore(t, pool)}
			_, hash := f.session(t, pgstore.NewSession{UserID: f.user(t, "new@example.com")})
			requireValid(t, pool, hash)
		})
	}
}

// seedByHand runs migration 022 as teams did, outside schema.Migrate, and
// opens a session the seed's way. It returns the session's token hash.
func seedByHand(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	if _, err := pool.Exec(t.Context(), schema.Migrations()[0].SQL); err != nil {
		t.Fatalf("migration 022 by hand: %v", err)
	}
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
	st, err := newStore(t, pool).Validate(t.Context(), hash, pgstore.Scope{})
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
