package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// listen opens a connection of its own that LISTENs to the notify channel.
func listen(t *testing.T, pool *pgxpool.Pool) *pgx.Conn {
	t.Helper()
	conn, err := pgx.ConnectConfig(t.Context(), pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), "LISTEN "+pgstore.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	return conn
}

// nextPayload returns the next notification's payload, failing after 10 s.
func nextPayload(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	if n.Channel != pgstore.NotifyChannel {
		t.Fatalf("notification on channel %q", n.Channel)
	}
	return n.Payload
}

// Every way a session can end announces its token hash, whoever ends it;
// nothing that leaves a session as it was announces anything. Notifications
// arrive in commit order, so a sentinel sent after an action proves that the
// action itself sent nothing.
func TestSessionEndsAreNotified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: -1})
	conn := listen(t, f.pool)
	exec := func(t *testing.T, sql string, args ...any) {
		t.Helper()
		if _, err := f.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}

	notified := []struct {
		name string
		end  func(t *testing.T, hash string, userID int64)
	}{
		{"Store.Revoke", func(t *testing.T, h string, _ int64) { mustRevoke(t, f, h, sessionguard.ReasonLogout) }},
		{"revoke_session called directly", func(t *testing.T, h string, _ int64) { exec(t, "SELECT revoke_session($1)", h) }},
		{"revoke_all_user_sessions called directly", func(t *testing.T, _ string, u int64) {
			exec(t, "SELECT revoke_all_user_sessions($1)", u)
		}},
		{"cleanup_expired_sessions", func(t *testing.T, h string, _ int64) {
			exec(t, "UPDATE sessions SET is_active = is_active WHERE session_token_hash = $1", h) // not an end: no notification
			f.age(t, h, 0, 9*time.Hour)
			if got := nextPayload(t, conn); got != h {
				t.Fatal("ageing a live session by hand was not announced")
			}
			exec(t, "SELECT cleanup_expired_sessions()")
		}},
		{"expiry found by Validate", func(t *testing.T, h string, _ int64) {
			f.age(t, h, 5*time.Hour, 0)
			if got := nextPayload(t, conn); got != h {
				t.Fatal("moving last_activity_at back by hand was not announced")
			}
			if st, err := f.store.Validate(ctx, h, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateIdle {
				t.Fatalf("Validate = %+v, %v", st, err)
			}
		}},
		{"expiry found by the seed's get_session_status", func(t *testing.T, h string, _ int64) {
			f.age(t, h, 0, 9*time.Hour)
			if got := nextPayload(t, conn); got != h {
				t.Fatal("ageing by hand was not announced")
			}
			exec(t, "SELECT * FROM get_session_status($1)", h)
		}},
		{"plain UPDATE", func(t *testing.T, h string, _ int64) {
			exec(t, "UPDATE sessions SET is_active = false WHERE session_token_hash = $1", h)
		}},
		{"absolute expiry shortened by hand", func(t *testing.T, h string, _ int64) {
			exec(t, "UPDATE sessions SET absolute_expires_at = now() + interval '1 minute' WHERE session_token_hash = $1", h)
		}},
		{"user deleted (cascade)", func(t *testing.T, _ string, u int64) { exec(t, "DELETE FROM users WHERE id = $1", u) }},
	}
	for i, tc := range notified {
		t.Run(tc.name, func(t *testing.T) {
			user := pgtest.CreateUser(t, f.pool, "notify"+string(rune('a'+i))+"@example.com", 0)
			hash, _ := f.create(t, func(n *sessionguard.NewSession) { n.UserID = user })
			tc.end(t, hash, user)
			if got := nextPayload(t, conn); got != hash {
				t.Fatal("the payload is not the session's token hash")
			}
		})
	}

	silent := []struct {
		name string
		do   func(t *testing.T, hash string)
	}{
		{"touch by Validate", func(t *testing.T, h string) {
			f.age(t, h, -time.Second, 0) // forward: not announced
			if st, err := f.store.Validate(ctx, h, sessionguard.Scope{}); err != nil || !st.Valid() {
				t.Fatalf("Validate = %+v, %v", st, err)
			}
		}},
		{"touch by the seed's update_session_activity", func(t *testing.T, h string) {
			exec(t, "SELECT update_session_activity($1)", h)
		}},
		{"Peek", func(t *testing.T, h string) {
			if _, err := f.store.Peek(ctx, h, sessionguard.Scope{}); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoke rolled back", func(t *testing.T, h string) {
			tx, err := f.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "SELECT revoke_session($1)", h); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"purge of an ended row", func(t *testing.T, h string) {
			exec(t, "SELECT revoke_session($1)", h)
			if got := nextPayload(t, conn); got != h {
				t.Fatal("revoke not announced")
			}
			exec(t, "DELETE FROM sessions WHERE session_token_hash = $1", h)
		}},
	}
	for _, tc := range silent {
		t.Run(tc.name, func(t *testing.T) {
			hash, _ := f.create(t, nil)
			tc.do(t, hash)
			exec(t, "SELECT pg_notify($1, 'sentinel')", pgstore.NotifyChannel)
			if got := nextPayload(t, conn); got != "sentinel" {
				t.Fatal("an action that ends nothing sent a notification")
			}
		})
	}

	t.Run("TRUNCATE", func(t *testing.T) {
		f.create(t, nil)
		exec(t, "TRUNCATE sessions")
		if got := nextPayload(t, conn); got != "" {
			t.Fatalf("TRUNCATE payload = %q, want empty (forget everything)", got)
		}
	})
}
