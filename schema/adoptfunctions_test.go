package schema_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/schema"
)

// TestAdoptionRestoresOnlyTheMissingFunction: a team ran the seed by hand,
// then dropped one of its functions, changed another (revoke_session writes
// its own default reason), and dropped seed indexes on purpose: 028's two,
// by hand and CONCURRENTLY as 028's header advises on a busy table, and
// idx_sessions_ended_at, which they do not want. Adopting 022 (Migrate, and
// each tool's form) creates the dropped function again and nothing else:
// running the whole file again built the dropped indexes on the live table,
// blocking its writes, and put back 022's revoke_session over the team's.
func TestAdoptionRestoresOnlyTheMissingFunction(t *testing.T) {
	t.Parallel()
	adopters := map[string]func(t *testing.T, pool *pgxpool.Pool){
		"Migrate": func(t *testing.T, pool *pgxpool.Pool) {
			if err := schema.MigrateList(context.Background(), pool, schema.Migrations()[:1]); err != nil {
				t.Fatalf("Migrate 022: %v", err)
			}
		},
	}
	for _, tool := range migrationTools {
		adopters[tool.name] = func(t *testing.T, pool *pgxpool.Pool) {
			all, err := tool.render(schema.BaseVersion)
			if err != nil {
				t.Fatal(err)
			}
			only022 := fstest.MapFS{}
			err = fs.WalkDir(all, ".", func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.Contains(path, "_add_session_management") {
					return err
				}
				body, err := fs.ReadFile(all, path)
				only022[path] = &fstest.MapFile{Data: body}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if tool.name == "tern" {
				renumbered := fstest.MapFS{}
				for name, f := range only022 {
					renumbered["001"+name[strings.Index(name, "_"):]] = f
				}
				only022 = renumbered
			}
			tool.upAll(t, pool, only022, "")
		}
	}
	for name, adopt := range adopters {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, liveHash := startingPoint(t, seedByHand)
			for _, sql := range []string{
				"DROP INDEX CONCURRENTLY idx_sessions_token_hash",
				"DROP INDEX CONCURRENTLY idx_sessions_app_type",
				"DROP INDEX CONCURRENTLY idx_sessions_ended_at",
				"DROP FUNCTION cleanup_expired_sessions()",
				`CREATE OR REPLACE FUNCTION revoke_session(p_token_hash VARCHAR(64), p_reason VARCHAR(50) DEFAULT 'team_logout')
				RETURNS BOOLEAN AS $$
				BEGIN
					UPDATE sessions SET is_active = false, revoked_at = now(), ended_at = now(), revoke_reason = p_reason
					WHERE session_token_hash = p_token_hash AND is_active; -- the team's
					RETURN FOUND;
				END;
				$$ LANGUAGE plpgsql`,
			} {
				if _, err := pool.Exec(ctx, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}
			adopt(t, pool)
			if rows := ledger(t, pool); len(rows) != 1 || !rows[0].Adopted {
				t.Fatalf("ledger %+v; want 022 alone, adopted", rows)
			}
			var n int
			if err := pool.QueryRow(ctx, "SELECT cleanup_expired_sessions()").Scan(&n); err != nil {
				t.Errorf("the dropped seed function is not back: %v", err)
			}
			var back []string
			if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(indexname::text ORDER BY indexname), '{}') FROM pg_indexes
				WHERE tablename = 'sessions' AND indexname IN ('idx_sessions_token_hash', 'idx_sessions_app_type', 'idx_sessions_ended_at')`).Scan(&back); err != nil {
				t.Fatal(err)
			}
			if len(back) != 0 {
				t.Errorf("adoption built the indexes the team dropped: %v", back)
			}
			var src string
			if err := pool.QueryRow(ctx, "SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('revoke_session(varchar, varchar)')").Scan(&src); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(src, "the team's") {
				t.Errorf("adoption replaced the team's revoke_session with 022's")
			}
			var ok bool
			if err := pool.QueryRow(ctx, "SELECT is_valid FROM get_session_status($1)", liveHash).Scan(&ok); err != nil || !ok {
				t.Errorf("the live session after adoption: valid %v, %v", ok, err)
			}
		})
	}
}
