package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// An older service's seed call that ends several sessions never meets the
// library's touch batch (on by default, Config.MaxBatch) in a deadlock.
// 022's revoke_all_user_sessions and cleanup_expired_sessions took their
// rows in whatever order the plan gave, and the cleanup in two statements;
// the batch takes them in token hash order. The interleaving is
// TestMultiRowEndsNeverDeadlockWithTouchBatches': lo < hi by hash, hi first
// in the table; a transaction holds lo; a touch batch of both waits for lo;
// the seed's call starts. Taking hi first, it queued for lo behind the
// batch, which then waited for hi: a cycle, broken by failing the seed's
// call (its connection checks after 100 ms, the batch's after 30 s) with
// 40P01, the user's sessions still signed in after a password change.
func TestSeedMultiRowEndsNeverDeadlockWithTouchBatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expired bool // both sessions past their idle timeout
		call    string
		args    func(f fixture) []any
	}{
		{"revoke_all_user_sessions", false, "SELECT revoke_all_user_sessions($1::int, 'password_change')",
			func(f fixture) []any { return []any{f.user} }},
		{"cleanup_expired_sessions", true, "SELECT cleanup_expired_sessions()",
			func(fixture) []any { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			f := newFixture(t, pgstore.Config{})
			batcher := storeWithDeadlockTimeout(t, f, "30s")
			seedService := poolWithDeadlockTimeout(t, f, "100ms")
			lo, hi := newHash(t), newHash(t)
			if hi < lo {
				lo, hi = hi, lo
			}
			f.create(t, func(n *sessionguard.NewSession) { n.TokenHash, n.ID = hi, "00000000-0000-4000-8000-000000000001" })
			f.create(t, func(n *sessionguard.NewSession) { n.TokenHash, n.ID = lo, "00000000-0000-4000-8000-000000000002" })
			f.age(t, hi, 2*time.Minute, 0) // due for a touch
			f.age(t, lo, 3*time.Minute, 0)
			if tt.expired {
				f.age(t, hi, 5*time.Hour, 0) // hi's new row version first, as above
				f.age(t, lo, 5*time.Hour, 0)
			}

			tx, err := f.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_token_hash = $1 FOR UPDATE", lo); err != nil {
				t.Fatal(err)
			}
			batchErr := make(chan error, 1)
			go func() {
				_, err := pgstore.TouchBatch(ctx, batcher, []string{lo, hi}, make([]sessionguard.Scope, 2))
				batchErr <- err
			}()
			waitForLockWaits(t, f, 1)
			callErr := make(chan error, 1)
			go func() {
				_, err := seedService.Exec(ctx, tt.call, tt.args(f)...)
				callErr <- err
			}()
			waitForLockWaits(t, f, 2)
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-batchErr; err != nil {
				t.Fatalf("touch batch: %v", err)
			}
			if err := <-callErr; err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			for _, h := range []string{lo, hi} {
				if f.row(t, h).Active {
					t.Fatalf("a session is still active after %s", tt.name)
				}
			}
		})
	}
}

// poolWithDeadlockTimeout is a pool on f's database, as an older service's,
// whose connections check for deadlocks after timeout.
func poolWithDeadlockTimeout(t *testing.T, f fixture, timeout string) *pgxpool.Pool {
	t.Helper()
	cfg := f.pool.Config().Copy()
	cfg.ConnConfig.RuntimeParams["deadlock_timeout"] = timeout
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
