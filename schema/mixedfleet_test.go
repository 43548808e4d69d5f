package schema_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// The tests of this file run a mixed fleet: older services that still call
// the seed's functions (and write the sessions table by hand, as the seed
// lets them) on the table that sessionguard governs.

// fleetHash is the hex SHA-256 of name, the form of sessions.session_token_hash.
func fleetHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// fleetSession is a sessions row as the library writes it: its own idle
// timeout, last active lastActive ago, absolutely expiring in absoluteIn
// (negative: already past).
type fleetSession struct {
	name                   string
	idleTimeout            time.Duration
	lastActive, absoluteIn time.Duration
}

// insert writes the row for user and returns its token hash.
func (s fleetSession) insert(t *testing.T, pool *pgxpool.Pool, user int64) string {
	t.Helper()
	hash := fleetHash(s.name)
	if _, err := pool.Exec(context.Background(), `INSERT INTO sessions
		(user_id, session_token_hash, idle_timeout_seconds, last_activity_at, absolute_expires_at)
		VALUES ($1, $2, $3, now() - make_interval(secs => $4), now() + make_interval(secs => $5))`,
		user, hash, int(s.idleTimeout/time.Second), s.lastActive.Seconds(), s.absoluteIn.Seconds()); err != nil {
		t.Fatalf("insert session %s: %v", s.name, err)
	}
	return hash
}

// checkState is sessionguard_check's state for hash, without touching it:
// what the library answers for the session.
func checkState(t *testing.T, pool *pgxpool.Pool, hash string) string {
	t.Helper()
	var state string
	if err := pool.QueryRow(context.Background(), "SELECT state FROM sessionguard_check($1, false)", hash).Scan(&state); err != nil {
		t.Fatalf("sessionguard_check: %v", err)
	}
	return state
}

// TestSeedTouchKeepsEndedSessionsEnded: an older service's
// update_session_activity on a session the library holds ended, its idle or
// absolute timeout past but not yet recorded (no check and no Cleaner came
// by), touched 022's way: every active row. It answered true, and the idle
// session was live again for the library (sessionguard_check "valid"), the
// user signed back in by a request of another service. The race of the
// seed's own contract is the same: get_session_status answers valid a moment
// before the idle deadline, update_session_activity runs after it.
func TestSeedTouchKeepsEndedSessionsEnded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		session     fleetSession
		revoke      bool
		wantTouched bool
		wantState   string
	}{
		{fleetSession{"live", time.Hour, 10 * time.Minute, time.Hour}, false, true, "valid"},
		{fleetSession{"seed's 4 hours, 3 hours idle", 4 * time.Hour, 3 * time.Hour, time.Hour}, false, true, "valid"},
		{fleetSession{"idle past its own timeout", 10 * time.Minute, 20 * time.Minute, time.Hour}, false, false, "idle_timeout"},
		{fleetSession{"absolute past", time.Hour, time.Minute, -time.Minute}, false, false, "absolute_timeout"},
		{fleetSession{"revoked", time.Hour, time.Minute, time.Hour}, true, false, "revoked"},
	} {
		t.Run(tt.session.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			user := pgtest.CreateUser(t, pool, "touch@example.com", 0)
			hash := tt.session.insert(t, pool, user)
			if tt.revoke {
				if _, err := pool.Exec(ctx, "SELECT revoke_session($1, 'logout')", hash); err != nil {
					t.Fatal(err)
				}
			}
			var before time.Time
			if err := pool.QueryRow(ctx, "SELECT last_activity_at FROM sessions WHERE session_token_hash = $1", hash).Scan(&before); err != nil {
				t.Fatal(err)
			}
			var touched bool
			if err := pool.QueryRow(ctx, "SELECT update_session_activity($1)", hash).Scan(&touched); err != nil {
				t.Fatal(err)
			}
			if touched != tt.wantTouched {
				t.Errorf("update_session_activity = %v, want %v", touched, tt.wantTouched)
			}
			var after time.Time
			if err := pool.QueryRow(ctx, "SELECT last_activity_at FROM sessions WHERE session_token_hash = $1", hash).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if moved := after.After(before); moved != tt.wantTouched {
				t.Errorf("last_activity_at moved = %v, want %v", moved, tt.wantTouched)
			}
			if got := checkState(t, pool, hash); got != tt.wantState {
				t.Errorf("the library's check after the seed's touch = %q, want %q", got, tt.wantState)
			}
		})
	}
}

// TestSeedTouchNeverMovesActivityBack: an older service that wraps a
// request in a transaction touches with the transaction's start time
// (CURRENT_TIMESTAMP). A library check that touched the session meanwhile
// wrote a later time, which 022's touch overwrote with the earlier one: the
// idle deadline moved back by the transaction's age, and 024's trigger took
// the move for a shortened session and told every Cache to forget it.
func TestSeedTouchNeverMovesActivityBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	user := pgtest.CreateUser(t, pool, "longrequest@example.com", 0)
	hash := fleetSession{"long request", time.Hour, time.Minute, time.Hour}.insert(t, pool, user)
	listener := listen(t, pool)

	request, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = request.Rollback(ctx) }()
	var valid bool
	if err := request.QueryRow(ctx, "SELECT is_valid FROM get_session_status($1)", hash).Scan(&valid); err != nil || !valid {
		t.Fatalf("get_session_status = %v, %v", valid, err)
	}
	time.Sleep(1100 * time.Millisecond)
	var libraryTouch time.Time
	if err := pool.QueryRow(ctx, "SELECT last_activity_at FROM sessionguard_check($1, true, 0)", hash).Scan(&libraryTouch); err != nil {
		t.Fatal(err)
	}
	var touched bool
	if err := request.QueryRow(ctx, "SELECT update_session_activity($1)", hash).Scan(&touched); err != nil || !touched {
		t.Fatalf("update_session_activity = %v, %v", touched, err)
	}
	if err := request.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var after time.Time
	if err := pool.QueryRow(ctx, "SELECT last_activity_at FROM sessions WHERE session_token_hash = $1", hash).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after.Before(libraryTouch) {
		t.Errorf("last_activity_at moved back from the library's touch %v to %v", libraryTouch, after)
	}
	if err := noNotification(listener, 300*time.Millisecond); err != nil {
		t.Error(err)
	}
}
