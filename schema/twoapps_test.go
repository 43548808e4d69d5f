package schema_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestMigrateSecondAppBehindTheFirst: two applications share a database.
// The first keeps its tables in public and has migrated; the second keeps
// its own in schema app2 and reaches shared objects in public through its
// search_path ("app2, public"), and ran the seed by hand in app2. Migrate
// for the second found the first's ledger through the search path, took
// every migration as applied, and returned nil with app2.sessions never
// migrated: every request of the second app then failed. It must stop and
// say which schemas disagree, and migrate app2 once the search path names
// only it.
func TestMigrateSecondAppBehindTheFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := pgtest.NewBarePool(t)
	if err := schema.Migrate(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Exec(ctx, "CREATE SCHEMA app2"); err != nil {
		t.Fatal(err)
	}
	inPath := func(path string) *pgxpool.Pool {
		cfg := first.Config().Copy()
		cfg.ConnConfig.RuntimeParams["search_path"] = path
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	second := inPath("app2, public")
	if _, err := second.Exec(ctx, pgtest.FixtureSQL+schema.Migrations()[0].SQL); err != nil {
		t.Fatalf("the second app's tables and its 022, in app2: %v", err)
	}

	err := schema.Migrate(ctx, second)
	if !errors.Is(err, schema.ErrLedgerElsewhere) || !strings.Contains(err.Error(), `"app2"`) || !strings.Contains(err.Error(), `"public"`) {
		t.Fatalf("Migrate for app2 behind public's ledger = %v; want ErrLedgerElsewhere naming both schemas", err)
	}
	var migrated bool
	if err := first.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute
		WHERE attrelid = 'app2.sessions'::regclass AND attname = 'idle_timeout_seconds')`).Scan(&migrated); err != nil || migrated {
		t.Fatalf("app2.sessions changed by the refused Migrate (%v)", err)
	}
	if err := schema.Migrate(ctx, inPath("app2")); err != nil {
		t.Fatalf("Migrate with search_path app2: %v", err)
	}
	if err := first.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute
		WHERE attrelid = 'app2.sessions'::regclass AND attname = 'idle_timeout_seconds')`).Scan(&migrated); err != nil || !migrated {
		t.Fatalf("app2.sessions not migrated (%v)", err)
	}
	// Its ledger is app2's own now, first in the path: Migrate with the
	// shared search path finds it and has nothing to do.
	if err := schema.Migrate(ctx, second); err != nil {
		t.Fatalf("Migrate for app2 with its own ledger: %v", err)
	}
}

// TestMigrateSecondAppWithoutItsOwnSessions: the second application of
// TestMigrateSecondAppBehindTheFirst has its users and tenants in app2 but no
// sessions table yet. Its search path finds the first application's
// sessions, which references public.users: Migrate found that table and its
// ledger, had nothing to do, and the second application then kept its
// sessions in the first's table, its user ids checked against the first's
// users (user 1 of app2 signing in as a session of user 1 of public, whose
// revocations ended both). Migrate must refuse the table, naming the users
// table it references and the one the search path finds.
func TestMigrateSecondAppWithoutItsOwnSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := pgtest.NewBarePool(t)
	if err := schema.Migrate(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Exec(ctx, "CREATE SCHEMA app2"); err != nil {
		t.Fatal(err)
	}
	cfg := first.Config().Copy()
	cfg.ConnConfig.RuntimeParams["search_path"] = "app2, public"
	second, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	if _, err := second.Exec(ctx, pgtest.FixtureSQL); err != nil {
		t.Fatal(err)
	}
	err = schema.Migrate(ctx, second)
	if !errors.Is(err, schema.ErrForeignSessionsTable) || !strings.Contains(err.Error(), "public.users") || !strings.Contains(err.Error(), "app2.users") {
		t.Fatalf("Migrate for app2 = %v; want ErrForeignSessionsTable naming public.users and app2.users", err)
	}
}

// TestToolsRefuseAnotherApplicationsSessions is
// TestMigrateSecondAppWithoutItsOwnSessions for each tool's form of 022.
func TestToolsRefuseAnotherApplicationsSessions(t *testing.T) {
	t.Parallel()
	for _, tool := range migrationTools {
		t.Run(tool.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			first := pgtest.NewBarePool(t)
			if err := schema.Migrate(ctx, first); err != nil {
				t.Fatal(err)
			}
			if _, err := first.Exec(ctx, "CREATE SCHEMA app2"); err != nil {
				t.Fatal(err)
			}
			cfg := first.Config().Copy()
			cfg.ConnConfig.RuntimeParams["search_path"] = "app2, public"
			second, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(second.Close)
			if _, err := second.Exec(ctx, pgtest.FixtureSQL); err != nil {
				t.Fatal(err)
			}
			ft := &failRecorder{TB: t}
			tool.upAll(ft, second, tool.inTeamSequence(t), "")
			for _, want := range []string{"another application's", "public.users", "app2.users"} {
				if !strings.Contains(ft.msg, want) {
					t.Errorf("%s up for app2: %q; want a refusal with %q", tool.name, ft.msg, want)
				}
			}
		})
	}
}

// TestMigrateAgainWithTheLedgerBeforeTheTable: one application whose
// search path ("app, public") starts with a schema of its own and finds
// the sessions table it made by hand in public. Migrate adopts that table
// and makes its ledger in app, the first schema of the path; every later
// Migrate (each start of the application) was then refused as another
// application's ledger (ErrLedgerElsewhere), though no other sessions
// table is anywhere.
func TestMigrateAgainWithTheLedgerBeforeTheTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := pgtest.NewBarePool(t)
	if _, err := base.Exec(ctx, schema.Migrations()[0].SQL+"; CREATE SCHEMA app"); err != nil {
		t.Fatal(err)
	}
	cfg := base.Config().Copy()
	cfg.ConnConfig.RuntimeParams["search_path"] = "app, public"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, run := range []string{"first", "second"} {
		if err := schema.Migrate(ctx, pool); err != nil {
			t.Fatalf("%s Migrate: %v", run, err)
		}
	}
	var ledger string
	if err := base.QueryRow(ctx, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = 'sessionguard_schema_migrations'`).Scan(&ledger); err != nil || ledger != "app" {
		t.Fatalf("ledger in schema %q (%v), want app (the case this test is about)", ledger, err)
	}
}
