package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// 50 sign-ins of one user at once never leave more live sessions than the
// limit, at any moment (a watcher counts throughout) and at the end, for
// both actions at the limit, straight to PostgreSQL and through PgBouncer in
// transaction-pooling mode (where only transaction-scoped locks hold).
func TestSessionLimitUnderConcurrentSignIns(t *testing.T) {
	t.Parallel()
	const signIns, max = 50, 3
	tests := []struct {
		name      string
		action    sessionguard.LimitAction
		bouncer   bool
		isolation string // the pool's default_transaction_isolation; "" the server's
		wantOK    int    // sign-ins that succeed
		wantEnded int    // sessions ended with reason session_limit
	}{
		{"end least recently active", sessionguard.EndLeastRecentlyActive, false, "", signIns, signIns - max},
		{"refuse", sessionguard.RefuseNewSession, false, "", max, 0},
		{"end least recently active, through PgBouncer", sessionguard.EndLeastRecentlyActive, true, "", signIns, signIns - max},
		{"refuse, through PgBouncer", sessionguard.RefuseNewSession, true, "", max, 0},
		// A pool at a stricter default isolation: the sign-ins still count
		// what the previous one committed, and none fails.
		{"end least recently active, repeatable read", sessionguard.EndLeastRecentlyActive, false, "repeatable read", signIns, signIns - max},
		{"refuse, repeatable read", sessionguard.RefuseNewSession, false, "repeatable read", max, 0},
		{"end least recently active, serializable", sessionguard.EndLeastRecentlyActive, false, "serializable", signIns, signIns - max},
		{"refuse, serializable", sessionguard.RefuseNewSession, false, "serializable", max, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var f fixture
			if tt.bouncer {
				f, _ = newBouncedFixture(t, pgstore.Config{Logger: quiet})
			} else {
				f = newFixture(t, pgstore.Config{Logger: quiet})
			}
			// A pool large enough that the sign-ins meet in the database,
			// not in the pool's queue.
			cfg := f.pool.Config().Copy()
			cfg.MaxConns = 20
			if tt.isolation != "" {
				cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = tt.isolation
			}
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			store, err := pgstore.New(pool, pgstore.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}

			liveSQL := `SELECT count(*) FROM sessions WHERE user_id = $1 AND is_active AND app_type = 'control_panel'`
			stop := make(chan struct{})
			var most atomic.Int64
			watched := make(chan struct{})
			go func() {
				defer close(watched)
				for {
					select {
					case <-stop:
						return
					default:
					}
					var n int64
					if err := f.pool.QueryRow(ctx, liveSQL, f.user).Scan(&n); err == nil && n > most.Load() {
						most.Store(n)
					}
				}
			}()

			var (
				wg      sync.WaitGroup
				start   = make(chan struct{})
				ok      atomic.Int64
				refused atomic.Int64
				other   = make(chan error, signIns)
			)
			for range signIns {
				n := sessionguard.NewSession{TokenHash: newHash(t), UserID: f.user, AppType: sessionguard.ControlPanel,
					Limit: sessionguard.SessionLimit{Max: max, AtLimit: tt.action}}
				wg.Go(func() {
					<-start
					_, err := store.Create(ctx, n)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, sessionguard.ErrSessionLimit):
						refused.Add(1)
					default:
						other <- err
					}
				})
			}
			close(start)
			wg.Wait()
			close(stop)
			<-watched
			close(other)
			for err := range other {
				t.Errorf("Create: %v", err)
			}

			if got := countRows(t, f, liveSQL, f.user); got != max {
				t.Errorf("%d live sessions at the end, want %d", got, max)
			}
			if got := most.Load(); got > max {
				t.Errorf("the watcher saw %d live sessions, limit %d", got, max)
			}
			if ok.Load() != int64(tt.wantOK) || refused.Load() != int64(signIns-tt.wantOK) {
				t.Errorf("%d sign-ins succeeded, %d refused; want %d, %d", ok.Load(), refused.Load(), tt.wantOK, signIns-tt.wantOK)
			}
			if got := countRows(t, f, "SELECT count(*) FROM sessions WHERE revoke_reason = 'session_limit'"); got != tt.wantEnded {
				t.Errorf("%d sessions ended with session_limit, want %d", got, tt.wantEnded)
			}
		})
	}
}

// At the limit, the least recently active live session ends, with reason
// session_limit that its next check reports; expired sessions, other app
// types and other users do not count.
func TestSessionLimitEndsTheLeastRecentlyActive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var events []sessionguard.Event
	f := newFixture(t, pgstore.Config{Logger: slog.New(slog.DiscardHandler), OnEvent: func(e sessionguard.Event) { events = append(events, e) }})
	limit := sessionguard.SessionLimit{Max: 2}
	signIn := func(t *testing.T, edit func(*sessionguard.NewSession)) (string, sessionguard.SessionInfo) {
		t.Helper()
		return f.create(t, func(n *sessionguard.NewSession) {
			n.Limit = limit
			if edit != nil {
				edit(n)
			}
		})
	}
	setLastActivity := func(t *testing.T, hash string, ago time.Duration) {
		t.Helper()
		if _, err := f.pool.Exec(ctx, "UPDATE sessions SET last_activity_at = now() - make_interval(secs => $2) WHERE session_token_hash = $1",
			hash, ago.Seconds()); err != nil {
			t.Fatal(err)
		}
	}

	older, olderInfo := signIn(t, nil)
	newer, _ := signIn(t, nil)
	setLastActivity(t, older, 30*time.Minute)
	setLastActivity(t, newer, 10*time.Minute)
	// Not counted: an idle-expired session nobody recorded yet, a tenant-app
	// session, and another user's sessions.
	stale, _ := f.create(t, nil)
	setLastActivity(t, stale, 5*time.Hour)
	f.create(t, func(n *sessionguard.NewSession) { n.AppType, n.TenantID = sessionguard.TenantApp, f.tenant })
	for range 3 {
		f.create(t, func(n *sessionguard.NewSession) { n.UserID = pgtestUser(t, f) })
	}

	events = nil
	third, _ := signIn(t, nil)

	st, err := f.store.Validate(ctx, older, sessionguard.Scope{})
	if err != nil || st.State != sessionguard.StateRevoked || st.EndReason != sessionguard.ReasonSessionLimit {
		t.Fatalf("evicted session: %q (%q), %v; want revoked (session_limit)", st.State, st.EndReason, err)
	}
	for _, h := range []string{newer, third} {
		if st, err := f.store.Validate(ctx, h, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid {
			t.Fatalf("kept session: %q, %v", st.State, err)
		}
	}
	if r := f.row(t, stale); !r.Active {
		t.Error("the sign-in ended an expired session it should have left to the cleanup")
	}
	if len(events) != 1 || events[0].Kind != sessionguard.EventRevoked || events[0].Reason != sessionguard.ReasonSessionLimit ||
		events[0].SessionID != olderInfo.ID || events[0].UserID != f.user {
		t.Fatalf("events = %+v, want one revoked/session_limit for the evicted session", events)
	}
}

// A limit that cannot be met is refused before the database.
func TestSessionLimitRejectsBadLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	for _, l := range []sessionguard.SessionLimit{{Max: -1}, {Max: 1 << 20}, {Max: 3, AtLimit: 7}} {
		_, err := f.store.Create(context.Background(), sessionguard.NewSession{TokenHash: newHash(t), UserID: f.user,
			AppType: sessionguard.ControlPanel, Limit: l})
		if !errors.Is(err, pgstore.ErrInvalidArgument) {
			t.Errorf("limit %+v: %v, want ErrInvalidArgument", l, err)
		}
	}
	if n := countRows(t, f, "SELECT count(*) FROM sessions"); n != 0 {
		t.Fatalf("%d sessions created", n)
	}
}

var userSeq atomic.Int64

func pgtestUser(t *testing.T, f fixture) int64 {
	t.Helper()
	var id int64
	if err := f.pool.QueryRow(context.Background(), "INSERT INTO users (email) VALUES ($1) RETURNING id",
		fmt.Sprintf("other%d@example.com", userSeq.Add(1))).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
