package schema_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestSeedStatusDoesNotEndASessionChangedMeanwhile: get_session_status (the
// seed's contract, as 023 defines it) reads a session that looks idle while
// another transaction holds the row: one that touches it
// (update_session_activity), or one that revokes it (revoke_session). Once
// that transaction commits, the expiry must not apply to the newest row: the
// touched session stays active, the revoked one keeps its reason. Its UPDATE
// required only the token hash, so it signed out a user who had just been let
// in, or overwrote "logout" with "idle_timeout".
func TestSeedStatusDoesNotEndASessionChangedMeanwhile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, meanwhile string
		wantActive      bool
		wantReason      string
	}{
		{"touched meanwhile", "SELECT update_session_activity($1)", true, ""},
		{"revoked meanwhile", "SELECT revoke_session($1, 'logout')", false, "logout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			user := pgtest.CreateUser(t, pool, "seedrace@example.com", 0)
			hash := strings.Repeat("d5", 32)
			// Idle timeout 4 s, last active 3 s ago: the deadline is 1 s away.
			if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, idle_timeout_seconds, last_activity_at)
				VALUES ($1, $2, now() + interval '1 hour', 4, now() - interval '3 seconds')`, user, hash); err != nil {
				t.Fatal(err)
			}
			a, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = a.Rollback(ctx) }()
			if _, err := a.Exec(ctx, tt.meanwhile, hash); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond) // past the old deadline

			done := make(chan error, 1)
			go func() {
				var valid bool
				var reason *string
				done <- pool.QueryRow(ctx, "SELECT is_valid, expiry_reason FROM get_session_status($1)", hash).Scan(&valid, &reason)
			}()
			waitForLockWait(t, pool, "get_session_status")
			if err := a.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var active bool
			var reason *string
			if err := pool.QueryRow(ctx, "SELECT is_active, revoke_reason FROM sessions WHERE session_token_hash = $1", hash).Scan(&active, &reason); err != nil {
				t.Fatal(err)
			}
			got := ""
			if reason != nil {
				got = *reason
			}
			if active != tt.wantActive || got != tt.wantReason {
				t.Errorf("after get_session_status: active %v, reason %q; want %v, %q", active, got, tt.wantActive, tt.wantReason)
			}
		})
	}
}

// waitForLockWait waits until a query containing call waits for a row lock.
func waitForLockWait(t *testing.T, pool *pgxpool.Pool, call string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var waiting bool
		if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%')`, call).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never waited for the other transaction's row lock", call)
		}
	}
}
