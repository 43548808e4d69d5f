package schema_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	tern "github.com/jackc/tern/v2/migrate"
	"github.com/pressly/goose/v3"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// teamMigrations is how many migrations the team had before adding
// sessionguard's: the library's are numbered from teamMigrations+1, as
// schema.Goose(startVersion) and the others allow.
const teamMigrations = 2

// A migrationTool drives one tool, used as a Go library.
type migrationTool struct {
	name string // also the folder of schema/ holding its checked-in form
	// bookkeeping matches the tool's version tables (LIKE), left out of
	// catalog comparisons.
	bookkeeping string
	// render is schema.Goose or its like; teamFiles writes the team's own
	// migration number v (it creates table team_v).
	render    func(first int64) (fs.FS, error)
	teamFiles func(v int) map[string]string
	// upAll applies everything in fsys, downTo undoes everything above
	// version, both keeping their record in versionTable ("" for the
	// tool's default).
	upAll  func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string)
	downTo func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string, version int64)
}

var migrationTools = []migrationTool{
	{
		name:        "goose",
		bookkeeping: "goose_db_version%",
		render:      schema.Goose,
		teamFiles: func(v int) map[string]string {
			return map[string]string{fmt.Sprintf("%05d_team_%[1]d.sql", v): fmt.Sprintf(
				"-- +goose Up\nCREATE TABLE team_%[1]d (id INTEGER);\n-- +goose Down\nDROP TABLE team_%[1]d;\n", v)}
		},
		upAll: func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string) {
			if _, err := gooseProvider(t, pool, fsys, versionTable).Up(context.Background()); err != nil {
				t.Fatalf("goose up: %v", err)
			}
		},
		downTo: func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string, version int64) {
			if _, err := gooseProvider(t, pool, fsys, versionTable).DownTo(context.Background(), version); err != nil {
				t.Fatalf("goose down to %d: %v", version, err)
			}
		},
	},
	{
		name:        "golang-migrate",
		bookkeeping: "schema_migrations%",
		render:      schema.GolangMigrate,
		teamFiles: func(v int) map[string]string {
			return map[string]string{
				fmt.Sprintf("%05d_team_%[1]d.up.sql", v):   fmt.Sprintf("CREATE TABLE team_%d (id INTEGER);", v),
				fmt.Sprintf("%05d_team_%[1]d.down.sql", v): fmt.Sprintf("DROP TABLE team_%d;", v),
			}
		},
		upAll: func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string) {
			if err := golangMigrate(t, pool, fsys, versionTable).Up(); err != nil {
				t.Fatalf("golang-migrate up: %v", err)
			}
		},
		downTo: func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string, version int64) {
			m := golangMigrate(t, pool, fsys, versionTable)
			var err error
			if version == 0 {
				err = m.Down()
			} else {
				err = m.Migrate(uint(version))
			}
			if err != nil {
				t.Fatalf("golang-migrate down to %d: %v", version, err)
			}
		},
	},
	{
		name:        "tern",
		bookkeeping: "tern_version%",
		render:      schema.Tern,
		teamFiles: func(v int) map[string]string {
			return map[string]string{fmt.Sprintf("%03d_team_%[1]d.sql", v): fmt.Sprintf(
				"CREATE TABLE team_%[1]d (id INTEGER);\n---- create above / drop below ----\nDROP TABLE team_%[1]d;\n", v)}
		},
		upAll: func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string) {
			if err := ternMigrator(t, pool, fsys, versionTable, func(m *tern.Migrator) error {
				return m.Migrate(context.Background())
			}); err != nil {
				t.Fatalf("tern migrate: %v", err)
			}
		},
		downTo: func(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string, version int64) {
			if err := ternMigrator(t, pool, fsys, versionTable, func(m *tern.Migrator) error {
				return m.MigrateTo(context.Background(), int32(version))
			}); err != nil {
				t.Fatalf("tern migrate to %d: %v", version, err)
			}
		},
	},
}

// inTeamSequence is the team's migrations 1…teamMigrations followed by
// sessionguard's, renumbered to follow them.
func (tool migrationTool) inTeamSequence(t testing.TB) fs.FS {
	t.Helper()
	ours, err := tool.render(teamMigrations + 1)
	if err != nil {
		t.Fatal(err)
	}
	merged := teamOnly(tool)
	err = fs.WalkDir(ours, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(ours, path)
		merged[path] = &fstest.MapFile{Data: body}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return merged
}

// teamOnly is the team's migrations alone.
func teamOnly(tool migrationTool) fstest.MapFS {
	files := fstest.MapFS{}
	for v := 1; v <= teamMigrations; v++ {
		for name, sql := range tool.teamFiles(v) {
			files[name] = &fstest.MapFile{Data: []byte(sql)}
		}
	}
	return files
}

// TestToolsMatchMigrate runs each tool's form, after two migrations of the
// team's, against (a) a database with only users and tenants, (b) one that
// ran the seed file by hand and has a live session, and (c) that one after
// Migrate (a team moving from Migrate to a tool). The schema each tool builds
// equals the one Migrate builds, object for object, and so does the ledger;
// the live session still validates; Migrate afterwards recognises the tool's
// work and applies nothing; going all the way down leaves the database as it
// was before sessionguard, and up again gives the same schema.
func TestToolsMatchMigrate(t *testing.T) {
	t.Parallel()
	for _, tool := range migrationTools {
		for _, from := range []start{bare, seedByHand, migratedByMigrate} {
			t.Run(tool.name+"/"+from.String(), func(t *testing.T) {
				t.Parallel()
				testTool(t, tool, from)
			})
		}
	}
}

func testTool(t *testing.T, tool migrationTool, from start) {
	ctx := context.Background()
	pool, liveHash := startingPoint(t, from)
	want, wantLedger := migrateReference(t, from)
	before := catalog(t, pool, tool.bookkeeping)
	if from == migratedByMigrate {
		// Down goes back to the schema before sessionguard's migrations.
		seeded, _ := startingPoint(t, seedByHand)
		before = catalog(t, seeded)
	}
	fsys := tool.inTeamSequence(t)

	tool.upAll(t, pool, fsys, "")
	sameCatalog(t, tool.name+" up", catalog(t, pool, tool.bookkeeping, "team_%"), want)
	sameLedger(t, tool.name+" up", ledger(t, pool), wantLedger)
	if liveHash != "" {
		requireValid(t, pool, liveHash)
	}

	// Migrate on a database the tool migrated finds everything recorded and
	// changes nothing: no function is replaced, no record added.
	procs, records := functionVersions(t, pool), ledger(t, pool)
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate after %s: %v", tool.name, err)
	}
	if after := functionVersions(t, pool); !equalMaps(after, procs) {
		t.Errorf("Migrate after %s replaced functions: %v, before %v", tool.name, after, procs)
	}
	sameLedger(t, "Migrate after "+tool.name, ledger(t, pool), records)

	// All the way down: the database is as it was before, the live session
	// included.
	tool.downTo(t, pool, fsys, "", teamMigrations)
	sameCatalog(t, tool.name+" down", catalog(t, pool, tool.bookkeeping, "team_%"), before)
	if liveHash != "" {
		var valid bool
		if err := pool.QueryRow(ctx, "SELECT is_valid FROM get_session_status($1)", liveHash).Scan(&valid); err != nil || !valid {
			t.Errorf("after %s down, the seed's get_session_status says valid=%v (%v), want the live session valid", tool.name, valid, err)
		}
	}

	// And up again.
	tool.upAll(t, pool, fsys, "")
	sameCatalog(t, tool.name+" up again", catalog(t, pool, tool.bookkeeping, "team_%"), want)
	sameLedger(t, tool.name+" up again", ledger(t, pool), wantLedger)
	if liveHash != "" {
		requireValid(t, pool, liveHash)
	}
}

// TestCheckedInFoldersAsTheirOwnSet runs the folders schema/goose,
// schema/golang-migrate and schema/tern, as a CLI would, as a migration set of
// their own beside the team's (each set with its own version table, so the
// library's numbers never collide with the team's): on a seeded database they
// build Migrate's schema, and all the way down they give the seeded database
// back.
func TestCheckedInFoldersAsTheirOwnSet(t *testing.T) {
	t.Parallel()
	for _, tool := range migrationTools {
		t.Run(tool.name, func(t *testing.T) {
			t.Parallel()
			pool, liveHash := startingPoint(t, seedByHand)
			want, wantLedger := migrateReference(t, seedByHand)
			before := catalog(t, pool, tool.bookkeeping)
			ownTable := strings.TrimSuffix(tool.bookkeeping, "%") + "_sessionguard"
			folder := os.DirFS(tool.name)

			tool.upAll(t, pool, teamOnly(tool), "")
			tool.upAll(t, pool, folder, ownTable)
			sameCatalog(t, tool.name+" up", catalog(t, pool, tool.bookkeeping, "team_%"), want)
			sameLedger(t, tool.name+" up", ledger(t, pool), wantLedger)
			requireValid(t, pool, liveHash)

			tool.downTo(t, pool, folder, ownTable, 0)
			sameCatalog(t, tool.name+" down", catalog(t, pool, tool.bookkeeping, "team_%"), before)
			tool.upAll(t, pool, folder, ownTable)
			sameCatalog(t, tool.name+" up again", catalog(t, pool, tool.bookkeeping, "team_%"), want)
		})
	}
}

// start is the state of a database before sessionguard's tool forms run.
type start int

const (
	bare              start = iota // users and tenants only
	seedByHand                     // and the seed file run by hand, with a live session
	migratedByMigrate              // and then schema.Migrate
)

func (s start) String() string {
	return [...]string{"bare", "seed_by_hand", "migrated_by_Migrate"}[s]
}

// startingPoint makes a database in state from; when it has a live session,
// it returns the session's token hash.
func startingPoint(t *testing.T, from start) (*pgxpool.Pool, string) {
	t.Helper()
	pool := pgtest.NewBarePool(t)
	if from == bare {
		return pool, ""
	}
	ctx := context.Background()
	if _, err := pool.Exec(ctx, schema.Migrations()[0].SQL); err != nil {
		t.Fatalf("run the seed by hand: %v", err)
	}
	user := pgtest.CreateUser(t, pool, "field@example.com", 0)
	hash := strings.Repeat("5e", 32)
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
		VALUES ($1, $2, now() + interval '8 hours')`, user, hash); err != nil {
		t.Fatal(err)
	}
	if from == migratedByMigrate {
		if err := schema.Migrate(ctx, pool); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	return pool, hash
}

// migrateReference is what Migrate makes of the same starting point: its
// catalog and its ledger.
func migrateReference(t *testing.T, from start) ([]string, []ledgerRow) {
	t.Helper()
	pool, _ := startingPoint(t, from)
	if err := schema.Migrate(context.Background(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return catalog(t, pool), ledger(t, pool)
}

// requireValid checks the session with token hash still authenticates
// through the store the middleware uses.
func requireValid(t *testing.T, pool *pgxpool.Pool, hash string) {
	t.Helper()
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Validate(context.Background(), hash, sessionguard.Scope{})
	if err != nil || !st.Valid() {
		t.Fatalf("the session from before the migration: Validate = %+v, %v; want valid", st, err)
	}
}

// ledgerRow is a row of sessionguard_schema_migrations.
type ledgerRow struct {
	Version   int32
	Name      string
	Checksum  string
	Adopted   bool
	AppliedAt time.Time
}

func ledger(t *testing.T, pool *pgxpool.Pool) []ledgerRow {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		"SELECT version, name, checksum, adopted, applied_at FROM sessionguard_schema_migrations ORDER BY version")
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ledgerRow])
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	return got
}

// sameLedger compares what the records say, and when they were made only if
// the reference is the same database's.
func sameLedger(t *testing.T, what string, got, want []ledgerRow) {
	t.Helper()
	sameTime := len(want) > 0 && len(got) > 0 && got[0].AppliedAt.Equal(want[0].AppliedAt)
	if len(got) != len(want) {
		t.Fatalf("%s: ledger has %d records, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !sameTime {
			g.AppliedAt, w.AppliedAt = time.Time{}, time.Time{}
		}
		if g != w {
			t.Errorf("%s: ledger record %+v, want %+v", what, g, w)
		}
	}
}

// functionVersions maps each function of the public schema to the
// transaction that last wrote its catalog row: CREATE OR REPLACE changes it
// even when the text is the same.
func functionVersions(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		"SELECT proname::text, xmin::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	var name, xmin string
	if _, err := pgx.ForEachRow(rows, []any{&name, &xmin}, func() error { m[name] = xmin; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestToolsRefuse: each tool's migration 022 stops, as Migrate does, where a
// sessions table that is not 022's is in the way or the tables it references
// are missing, and says what is wrong.
func TestToolsRefuse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup string
		want  []string
	}{
		{"another sessions table",
			// scs's postgresstore uses a table of this name.
			"CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)",
			[]string{"not the one of migration", "session_token_hash"}},
		{"no users or tenants", "DROP TABLE users; DROP TABLE tenants",
			[]string{"references users(id) and tenants(id)"}},
	}
	for _, tool := range migrationTools {
		for _, c := range cases {
			t.Run(tool.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				pool := pgtest.NewBarePool(t)
				if _, err := pool.Exec(context.Background(), c.setup); err != nil {
					t.Fatal(err)
				}
				ft := &failRecorder{TB: t}
				tool.upAll(ft, pool, tool.inTeamSequence(t), "")
				for _, w := range c.want {
					if !strings.Contains(ft.msg, w) {
						t.Fatalf("%s up: %q; want a refusal with %q", tool.name, ft.msg, w)
					}
				}
				var sessions bool
				if err := pool.QueryRow(context.Background(), "SELECT to_regprocedure('get_session_status(varchar)') IS NOT NULL").Scan(&sessions); err != nil || sessions {
					t.Fatalf("the refused migration left the seed's functions behind (%v)", err)
				}
			})
		}
	}
}

// failRecorder turns a tool's t.Fatalf into a recorded message, so a test
// can expect a migration to fail.
type failRecorder struct {
	testing.TB
	msg string
}

func (f *failRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}

func gooseProvider(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string) *goose.Provider {
	t.Helper()
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { db.Close() })
	var opts []goose.ProviderOption
	if versionTable != "" {
		opts = append(opts, goose.WithTableName(versionTable))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
	if err != nil {
		t.Fatalf("goose: %v", err)
	}
	return p
}

func golangMigrate(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string) *migrate.Migrate {
	t.Helper()
	src, err := iofs.New(fsys, ".")
	if err != nil {
		t.Fatalf("golang-migrate source: %v", err)
	}
	drv, err := migratepgx.WithInstance(stdlib.OpenDBFromPool(pool), &migratepgx.Config{MigrationsTable: versionTable})
	if err != nil {
		t.Fatalf("golang-migrate driver: %v", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		t.Fatalf("golang-migrate: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func ternMigrator(t testing.TB, pool *pgxpool.Pool, fsys fs.FS, versionTable string, run func(*tern.Migrator) error) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if versionTable == "" {
		versionTable = "tern_version"
	}
	m, err := tern.NewMigrator(ctx, conn.Conn(), "public."+versionTable)
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(fsys); err != nil {
		return err
	}
	return run(m)
}

func toolNamed(t testing.TB, name string) migrationTool {
	t.Helper()
	for _, tool := range migrationTools {
		if tool.name == name {
			return tool
		}
	}
	t.Fatalf("no migration tool %q", name)
	return migrationTool{}
}

// TestToolsDownKeepsAdoptedTableWithoutAllSeedFunctions: a database that ran
// the seed by hand and later dropped or re-signed one of its functions (here
// cleanup_expired_sessions, replaced by the team's own job) still has the
// application's sessions table, rows and all. Going all the way down must
// keep it, as it keeps an adopted table with all five functions: the up
// recorded it as created (adopted false) because a function was missing, and
// the down dropped the table with every session in it.
func TestToolsDownKeepsAdoptedTableWithoutAllSeedFunctions(t *testing.T) {
	t.Parallel()
	for _, tool := range migrationTools {
		t.Run(tool.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, liveHash := startingPoint(t, seedByHand)
			if _, err := pool.Exec(ctx, "DROP FUNCTION cleanup_expired_sessions()"); err != nil {
				t.Fatal(err)
			}
			fsys := tool.inTeamSequence(t)
			tool.upAll(t, pool, fsys, "")
			requireValid(t, pool, liveHash)
			if rows := ledger(t, pool); len(rows) == 0 || !rows[0].Adopted {
				t.Errorf("ledger %+v: want 022 recorded first, as adopted (the sessions table was there)", rows[:min(1, len(rows))])
			}
			tool.downTo(t, pool, fsys, "", teamMigrations)
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE session_token_hash = $1", liveHash).Scan(&n); err != nil || n != 1 {
				t.Fatalf("after %s down the application's session row: count %d, %v; want it kept", tool.name, n, err)
			}
		})
	}
}
