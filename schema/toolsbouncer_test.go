package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestToolsBehindPgBouncer runs each tool's form as a set of its own through
// PgBouncer in transaction-pooling mode, over a pool configured as README's
// "Behind PgBouncer" says (database/sql from stdlib.OpenDBFromPool for goose
// and golang-migrate): every migration is recorded once, no advisory lock is
// left on a server connection, Migrate afterwards applies nothing, and the
// schema serves a session.
func TestToolsBehindPgBouncer(t *testing.T) {
	t.Parallel()
	for _, tool := range migrationTools {
		t.Run(tool.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			bc := pgtest.NewBarePoolBounced(t)
			first := int64(schema.BaseVersion)
			if tool.name == "tern" {
				first = 1 // tern numbers a set from 1
			}
			fsys, err := tool.render(first)
			if err != nil {
				t.Fatal(err)
			}
			tool.upAll(t, bc.Pool, fsys, strings.TrimSuffix(tool.bookkeeping, "%")+"_sessionguard")

			records, err := schema.Applied(ctx, bc.Direct)
			if err != nil || len(records) != len(schema.Migrations()) {
				t.Fatalf("recorded %d migrations, %v; want %d", len(records), err, len(schema.Migrations()))
			}
			var held int
			if err := bc.Direct.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&held); err != nil {
				t.Fatal(err)
			}
			if held != 0 {
				t.Errorf("%d advisory locks held after %s returned", held, tool.name)
			}
			if err := schema.Migrate(ctx, bc.Pool); err != nil {
				t.Fatalf("Migrate after %s: %v", tool.name, err)
			}
			user := pgtest.CreateUser(t, bc.Direct, "bounced@example.com", 0)
			hash := strings.Repeat("b0", 32)
			if _, err := bc.Pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
				VALUES ($1, $2, now() + interval '8 hours')`, user, hash); err != nil {
				t.Fatal(err)
			}
			requireValid(t, bc.Pool, hash)
		})
	}
}
