package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestCheckDoesNotExpireASessionTouchedMeanwhile: check A, started before
// the idle deadline, touches the session; check B, started after the old
// deadline, read the row before A committed and finds it idle. B must not
// end a session that A's touch has kept alive: its UPDATE waited for A's row
// lock and then required only is_active, so it signed out a user who had
// just been let in.
func TestCheckDoesNotExpireASessionTouchedMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	user := pgtest.CreateUser(t, pool, "race@example.com", 0)
	hash := strings.Repeat("c4", 32)
	// Idle timeout 6 s, last active 3 s ago: A has 3 s to start before the
	// old deadline, and B (started just past it) 3 s before A's new one.
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, idle_timeout_seconds, last_activity_at)
		VALUES ($1, $2, now() + interval '1 hour', 6, now() - interval '3 seconds')`, user, hash); err != nil {
		t.Fatal(err)
	}
	a, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Rollback(ctx) }()
	var state string
	if err := a.QueryRow(ctx, "SELECT state FROM sessionguard_check($1, true, 0)", hash).Scan(&state); err != nil || state != "valid" {
		t.Fatalf("check A = %q, %v; want valid", state, err)
	}
	// Past the old deadline by the database's clock (A's touch is not
	// committed: this reads the old row), however long A took to start.
	if _, err := pool.Exec(ctx, `SELECT pg_sleep_until(last_activity_at + make_interval(secs => idle_timeout_seconds) + interval '100 milliseconds')
		FROM sessions WHERE session_token_hash = $1`, hash); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		state string
		err   error
	}
	b := make(chan answer, 1)
	go func() {
		var s string
		err := pool.QueryRow(ctx, "SELECT state FROM sessionguard_check($1, true, 0)", hash).Scan(&s)
		b <- answer{s, err}
	}()
	waitForLockWait(t, pool, "sessionguard_check") // B has read the old row
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := <-b
	if got.err != nil || got.state != "valid" {
		t.Errorf("check B after A's touch = %q, %v; want valid", got.state, got.err)
	}
	var active bool
	if err := pool.QueryRow(ctx, "SELECT is_active FROM sessions WHERE session_token_hash = $1", hash).Scan(&active); err != nil || !active {
		t.Errorf("session active = %v (%v) after a touch kept it alive, want true", active, err)
	}
}
