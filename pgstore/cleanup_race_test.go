package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/pgstore"
)

// TestCleanupRacingARevoke: Store.Cleanup, whose expiry waits for another
// transaction's write of the same row (a revocation here), finishes at every
// isolation level of the pool, and the row keeps the reason it ended with.
// At REPEATABLE READ and SERIALIZABLE PostgreSQL fails the seed's
// cleanup_expired_sessions with 40001 then, having changed nothing, and
// Cleanup sends it again. (The Cleaner never waits: its pages skip locked
// rows.)
func TestCleanupRacingARevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	run := map[string]func(t *testing.T, isolation string) error{
		"Store.Cleanup": func(t *testing.T, isolation string) error {
			s, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Cleanup(ctx)
			return err
		},
	}
	for _, isolation := range isolationLevels {
		for name, cleanup := range run {
			t.Run(isolation+", "+name, func(t *testing.T) {
				mustExec(t, f, "UPDATE sessions SET is_active = false, revoked_at = now(), ended_at = now(), revoke_reason = 'test_setup' WHERE is_active")
				hash, s := f.create(t, nil)
				f.age(t, hash, 5*time.Hour, 0) // idle for five hours
				revoke, err := f.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = revoke.Rollback(ctx) }()
				if _, err := revoke.Exec(ctx, `UPDATE sessions SET is_active = false, revoked_at = now(), revoke_reason = 'admin_revoke' WHERE id = $1`, s.ID); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cleanup(t, isolation) }()
				waitForLockWaits(t, f, 1)
				if err := revoke.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatalf("%s that waited for the revocation: %v", name, err)
				}
				if active, reason := endState(t, f, s.ID); active || reason != "admin_revoke" {
					t.Fatalf("session after: active %v, reason %q; want admin_revoke", active, reason)
				}
			})
		}
	}
}
