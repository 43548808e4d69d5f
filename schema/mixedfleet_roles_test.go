package schema_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestSeedEndsAsTheApplicationsRole: an older service that connects with
// the grants README's "Roles" paragraph gives (not the tables' owner) ends
// sessions each way the seed allows, and every one is seen by the library as
// it must be: a notification with the session's token hash (what a
// pgstore.Cache evicts by), the session's scs data deleted, and, for a row
// that stays, the time it ended and the reason it was given.
func TestSeedEndsAsTheApplicationsRole(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		expired    bool // past its idle timeout, not yet recorded
		end        string
		wantReason string // "" for NULL
		deletes    bool
	}{
		{"revoke_session", false, "SELECT revoke_session($1, 'logout')", "logout", false},
		{"revoke_all_user_sessions", false, "SELECT revoke_all_user_sessions(user_id, 'password_change') FROM sessions WHERE session_token_hash = $1", "password_change", false},
		{"cleanup_expired_sessions", true, "SELECT cleanup_expired_sessions() WHERE $1::text IS NOT NULL", "idle_timeout", false},
		{"get_session_status of an idle session", true, "SELECT * FROM get_session_status($1)", "idle_timeout", false},
		{"an UPDATE of its own", false, "UPDATE sessions SET is_active = false WHERE session_token_hash = $1", "", false},
		{"a DELETE of its own", false, "DELETE FROM sessions WHERE session_token_hash = $1", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			owner := pgtest.NewPool(t)
			role := pgtest.NewRole(t, owner)
			for _, g := range readmeGrants(t, role) {
				if _, err := owner.Exec(ctx, g); err != nil {
					t.Fatalf("%s: %v", g, err)
				}
			}
			older := pgtest.PoolAs(t, owner, role)
			user := pgtest.CreateUser(t, owner, "fleet@example.com", 0)
			s := fleetSession{tt.name, time.Hour, time.Minute, time.Hour}
			if tt.expired {
				s.lastActive = 2 * time.Hour
			}
			hash := s.insert(t, owner, user)
			if _, err := owner.Exec(ctx, `INSERT INTO sessionguard_scs_data (token_hash, data, expiry)
				VALUES ($1, 'data', now() + interval '1 hour')`, hash); err != nil {
				t.Fatal(err)
			}
			listener := listen(t, owner)

			if _, err := older.Exec(ctx, tt.end, hash); err != nil {
				t.Fatalf("%s as the older service's role: %v", tt.name, err)
			}

			waitForNotification(t, listener, hash)
			var data int
			if err := owner.QueryRow(ctx, "SELECT count(*) FROM sessionguard_scs_data WHERE token_hash = $1", hash).Scan(&data); err != nil {
				t.Fatal(err)
			}
			if data != 0 {
				t.Error("the ended session's scs data is still there")
			}
			if tt.deletes {
				return
			}
			var active, endedAt bool
			var reason *string
			if err := owner.QueryRow(ctx, "SELECT is_active, ended_at IS NOT NULL, revoke_reason FROM sessions WHERE session_token_hash = $1", hash).
				Scan(&active, &endedAt, &reason); err != nil {
				t.Fatal(err)
			}
			if active || !endedAt || deref(reason) != tt.wantReason {
				t.Errorf("row: active %v, ended_at set %v, reason %q; want ended, ended_at set, %q", active, endedAt, deref(reason), tt.wantReason)
			}
		})
	}
}

// listen returns a connection of pool listening on sessionguard_ended, as
// a pgstore.Cache's listener does, released when the test ends.
func listen(t *testing.T, pool *pgxpool.Pool) *pgxpool.Conn {
	t.Helper()
	conn, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Release() })
	if _, err := conn.Exec(context.Background(), "LISTEN sessionguard_ended"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// waitForNotification waits up to 10 s for a notification whose payload is
// hash.
func waitForNotification(t *testing.T, conn *pgxpool.Conn, hash string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("no notification of the ended session: %v", err)
		}
		if n.Payload == hash {
			return
		}
	}
}

// noNotification reports the notification conn received within wait, if
// any.
func noNotification(conn *pgxpool.Conn, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(ctx)
	if err != nil {
		return nil // the wait ended with nothing received
	}
	return fmt.Errorf("notification %q on %s", n.Payload, n.Channel)
}
