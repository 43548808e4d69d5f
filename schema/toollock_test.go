package schema_test

import (
	"context"
	"io/fs"
	"sort"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestToolFormsWaitForMigrate: each migration in a tool's form (here the
// golang-migrate up files, which `sessionguard migrate --print` hands to
// psql) waits while an instance's Migrate holds the migration lock, and runs
// when it is released. Run at once, both applied the same file and one of
// them failed (an index of the same name, a version already recorded).
func TestToolFormsWaitForMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)
	fsys, err := schema.GolangMigrate(schema.BaseVersion)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := fs.Glob(fsys, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ups)
	for _, name := range ups {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		holder, err := pool.Begin(ctx) // as Migrate's step does
		if err != nil {
			t.Fatal(err)
		}
		if _, err := holder.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", schema.LockKey); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := pool.Exec(ctx, string(body))
			done <- err
		}()
		waiting := false
		for deadline := time.Now().Add(10 * time.Second); !waiting && time.Now().Before(deadline); {
			select {
			case err := <-done:
				_ = holder.Rollback(ctx)
				t.Fatalf("%s ran while Migrate held the migration lock (error: %v)", name, err)
			case <-time.After(10 * time.Millisecond):
			}
			if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
				WHERE locktype = 'advisory' AND NOT granted
				  AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
		}
		if !waiting {
			t.Fatalf("%s neither ran nor waited for the migration lock within 10 s", name)
		}
		if err := holder.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%s after the lock was released: %v", name, err)
		}
	}
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate after the files: %v", err)
	}
	if recs, err := schema.Applied(ctx, pool); err != nil || len(recs) != len(ups) {
		t.Fatalf("ledger has %d records (%v), want %d", len(recs), err, len(ups))
	}
}
