package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestTouchRacingARevoke: a Validate whose touch waits for a revocation of
// its row answers "revoked" once the revocation commits, at every isolation
// level of the pool, alone and in a batch. At REPEATABLE READ and
// SERIALIZABLE PostgreSQL fails such a statement with 40001, having changed
// nothing; the store sends it again instead of answering an error (a 503
// for a session that has simply ended).
func TestTouchRacingARevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	for _, isolation := range isolationLevels {
		for _, n := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s, %d at once", isolation, n), func(t *testing.T) {
				// Every Validate writes (TouchInterval < 0), so each one
				// waits for the revoking transaction's row lock.
				store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{TouchInterval: -1, Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
				mustExec(t, f, "UPDATE sessions SET is_active = false, revoked_at = now(), ended_at = now(), revoke_reason = 'test_setup' WHERE is_active")
				hashes := make([]string, n)
				for i := range hashes {
					hashes[i], _ = f.create(t, nil)
				}
				revoke, err := f.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = revoke.Rollback(ctx) }()
				if _, err := revoke.Exec(ctx, `UPDATE sessions SET is_active = false, revoked_at = now(), revoke_reason = 'admin_revoke'
					WHERE is_active AND user_id = $1`, f.user); err != nil {
					t.Fatal(err)
				}
				states := make([]sessionguard.Status, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i, h := range hashes {
					wg.Go(func() { states[i], errs[i] = store.Validate(ctx, h, sessionguard.Scope{}) })
				}
				waitForLockWaits(t, f, 1)
				if err := revoke.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				wg.Wait()
				for i := range hashes {
					if errs[i] != nil || states[i].State != sessionguard.StateRevoked {
						t.Errorf("Validate %d that waited for the revocation = %q, %v; want revoked", i, states[i].State, errs[i])
					}
				}
			})
		}
	}
}
