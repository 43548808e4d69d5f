package schema_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/schema"
)

// TestFillfactorOf024: migration 024 sets the sessions table's fillfactor to
// 80 whatever the team had set (README, "The schema", says so). Set after
// Migrate, a team's own fillfactor stays through later runs of Migrate; a
// tool's form run over that database (moving from Migrate to a tool) runs
// 024 again and sets 80 again.
func TestFillfactorOf024(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := startingPoint(t, seedByHand)
	setFillfactor(t, pool, 70)
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if got := fillfactor(t, pool); got != "fillfactor=80" {
		t.Fatalf("after Migrate fillfactor = %q; 024 sets 80", got)
	}
	setFillfactor(t, pool, 70)
	if err := schema.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if got := fillfactor(t, pool); got != "fillfactor=70" {
		t.Fatalf("after Migrate again fillfactor = %q; want the team's 70 kept", got)
	}
	toolNamed(t, "goose").upAll(t, pool, os.DirFS("goose"), "")
	if got := fillfactor(t, pool); got != "fillfactor=80" {
		t.Fatalf("after goose over Migrate fillfactor = %q; its 024 sets 80 again", got)
	}
}

func setFillfactor(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), fmt.Sprintf("ALTER TABLE sessions SET (fillfactor = %d)", n)); err != nil {
		t.Fatal(err)
	}
}

func fillfactor(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var opt string
	if err := pool.QueryRow(context.Background(), `SELECT coalesce((SELECT o FROM unnest(reloptions) o WHERE o LIKE 'fillfactor=%'), '')
		FROM pg_class WHERE oid = 'sessions'::regclass`).Scan(&opt); err != nil {
		t.Fatal(err)
	}
	return opt
}
