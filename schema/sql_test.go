package schema_test

import (
	"context"
	"testing"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// The seed hard-codes a 240-minute idle timeout; after 023 every seed function
// reads the session's own idle_timeout_seconds, so SQL and Go cannot disagree.
func TestSeedFunctionsUseTheSessionsIdleTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	user := pgtest.CreateUser(t, pool, "strict@example.com", 0)

	short := "1111111111111111111111111111111111111111111111111111111111111111"
	seed := "2222222222222222222222222222222222222222222222222222222222222222"
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, idle_timeout_seconds)
		VALUES ($1, $2, now() + interval '8 hours', 1800), ($1, $3, now() + interval '8 hours', DEFAULT)`,
		user, short, seed); err != nil {
		t.Fatal(err)
	}
	idleOf := func(hash string) int32 {
		t.Helper()
		var idle int32
		if err := pool.QueryRow(ctx, "SELECT seconds_until_idle_timeout FROM get_session_status($1)", hash).Scan(&idle); err != nil {
			t.Fatal(err)
		}
		return idle
	}
	if got := idleOf(short); got < 1790 || got > 1800 {
		t.Errorf("30-minute session: get_session_status idle = %d, want ~1800", got)
	}
	if got := idleOf(seed); got < 14390 || got > 14400 {
		t.Errorf("default session: get_session_status idle = %d, want the seed's ~14400", got)
	}

	// 40 minutes of inactivity ends the 30-minute session only.
	if _, err := pool.Exec(ctx, "UPDATE sessions SET last_activity_at = now() - interval '40 minutes'"); err != nil {
		t.Fatal(err)
	}
	var ended int32
	if err := pool.QueryRow(ctx, "SELECT cleanup_expired_sessions()").Scan(&ended); err != nil {
		t.Fatal(err)
	}
	if ended != 1 {
		t.Fatalf("cleanup ended %d sessions, want 1", ended)
	}
	var reason string
	if err := pool.QueryRow(ctx, "SELECT revoke_reason FROM sessions WHERE session_token_hash = $1", short).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if reason != "idle_timeout" {
		t.Fatalf("revoke_reason = %q, want idle_timeout", reason)
	}
}
