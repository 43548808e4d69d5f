package schema_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// The seed's functions and the library disagree in these by design; README's
// "A mixed fleet" paragraph says so, one sentence each.

// TestSeedStatusKnowsNoScope: get_session_status answers for a session of
// any app and tenant, and returns its tenant but not its app type, where the
// library's check refuses it outside its scope.
func TestSeedStatusKnowsNoScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	home, other := pgtest.CreateTenant(t, pool, "home"), pgtest.CreateTenant(t, pool, "other")
	user := pgtest.CreateUser(t, pool, "scope@example.com", other)
	hash := fleetHash("tenant app session")
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, tenant_id, app_type)
		VALUES ($1, $2, now() + interval '1 hour', $3, 'tenant_app')`, user, hash, other); err != nil {
		t.Fatal(err)
	}
	var valid bool
	var tenant *int64
	if err := pool.QueryRow(ctx, "SELECT is_valid, tenant_id FROM get_session_status($1)", hash).Scan(&valid, &tenant); err != nil {
		t.Fatal(err)
	}
	if !valid || tenant == nil || *tenant != other {
		t.Fatalf("get_session_status = valid %v, tenant %v; want valid, tenant %d", valid, tenant, other)
	}
	for _, tt := range []struct {
		app    string
		tenant int64
		want   string
	}{
		{"control_panel", 0, "wrong_app"},
		{"tenant_app", home, "wrong_tenant"},
		{"tenant_app", other, "valid"},
	} {
		var state string
		if err := pool.QueryRow(ctx, "SELECT state FROM sessionguard_check($1, false, 0, $2, NULLIF($3, 0)::int)",
			hash, tt.app, tt.tenant).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state != tt.want {
			t.Errorf("sessionguard_check in %s of tenant %d = %q, want %q", tt.app, tt.tenant, state, tt.want)
		}
	}
}

// TestSeedCallsWithARotatedOutToken: after a re-authentication rotated a
// session's token, the seed's functions given the old token find no session:
// revoke_session ends nothing and the session lives on under its new token.
func TestSeedCallsWithARotatedOutToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	user := pgtest.CreateUser(t, pool, "rotated@example.com", 0)
	old := fleetSession{"before the re-authentication", time.Hour, 0, time.Hour}.insert(t, pool, user)
	current := fleetHash("after the re-authentication")
	if _, err := pool.Exec(ctx, "UPDATE sessions SET session_token_hash = $2 WHERE session_token_hash = $1", old, current); err != nil {
		t.Fatal(err)
	}
	var valid, touched, revoked bool
	var reason *string
	if err := pool.QueryRow(ctx, "SELECT is_valid, expiry_reason FROM get_session_status($1)", old).Scan(&valid, &reason); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "SELECT update_session_activity($1), revoke_session($1, 'logout')", old).Scan(&touched, &revoked); err != nil {
		t.Fatal(err)
	}
	if valid || reason != nil || touched || revoked {
		t.Fatalf("with the old token: valid %v (reason %v), touched %v, revoked %v; want none", valid, reason, touched, revoked)
	}
	if got := checkState(t, pool, current); got != "valid" {
		t.Fatalf("the session under its new token = %q, want valid", got)
	}
}

// TestDeletedSessionForgetsItsTokens: a revoked session's row keeps its
// token hash, and those its re-authentications retired, from ever opening a
// session again (the insert of a recorded token fails as taken); a row
// deleted while live, as an older service's logout may do, takes them with
// it, and the same tokens open new sessions.
func TestDeletedSessionForgetsItsTokens(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, end string
		wantTaken bool
	}{
		{"revoked", "SELECT revoke_session($1, 'logout')", true},
		{"deleted", "DELETE FROM sessions WHERE session_token_hash = $1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			user := pgtest.CreateUser(t, pool, "deleted@example.com", 0)
			retired := fleetSession{"rotated out", time.Hour, 0, time.Hour}.insert(t, pool, user)
			current := fleetHash("current")
			if _, err := pool.Exec(ctx, "UPDATE sessions SET session_token_hash = $2 WHERE session_token_hash = $1", retired, current); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, tt.end, current); err != nil {
				t.Fatal(err)
			}
			for name, hash := range map[string]string{"current": current, "rotated-out": retired} {
				_, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
					VALUES ($1, $2, now() + interval '1 hour')`, user, hash)
				var pgErr *pgconn.PgError
				taken := errors.As(err, &pgErr) && pgErr.Code == "23505"
				if err != nil && !taken {
					t.Fatal(err)
				}
				if taken != tt.wantTaken {
					t.Errorf("a new session with the %s token: taken = %v, want %v", name, taken, tt.wantTaken)
				}
			}
		})
	}
}

// TestSeedInsertKeepsTheSeedsTimeouts: a session an older service inserts
// its way (no idle_timeout_seconds) has the seed's 4-hour idle timeout, and
// the library checks it by that, whatever timeout the library gives the
// sessions it creates.
func TestSeedInsertKeepsTheSeedsTimeouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	user := pgtest.CreateUser(t, pool, "seedinsert@example.com", 0)
	hash := fleetHash("inserted by an older service")
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, last_activity_at)
		VALUES ($1, $2, now() + interval '8 hours', now() - interval '3 hours')`, user, hash); err != nil {
		t.Fatal(err)
	}
	var idle int
	if err := pool.QueryRow(ctx, "SELECT idle_timeout_seconds FROM sessions WHERE session_token_hash = $1", hash).Scan(&idle); err != nil {
		t.Fatal(err)
	}
	if idle != 14400 {
		t.Fatalf("idle_timeout_seconds = %d, want the seed's 14400", idle)
	}
	if got := checkState(t, pool, hash); got != "valid" {
		t.Fatalf("three hours idle: the library's check = %q, want valid", got)
	}
}
