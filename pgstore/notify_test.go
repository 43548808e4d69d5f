package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// notifyCap is migration 030's limit: a transaction announces this many
// ended sessions by token hash, then sends one empty payload for the rest.
const notifyCap = 1000

// insertSessions adds n live sessions of user in one statement and returns
// their token hashes.
func insertSessions(t *testing.T, pool *pgxpool.Pool, user int64, n int) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
		SELECT $1, encode(sha256(gen_random_uuid()::text::bytea), 'hex'), now() + interval '1 hour'
		FROM generate_series(1, $2)
		RETURNING session_token_hash`, user, n)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return hashes
}

// execer is a pool, a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// endSome ends n of user's live sessions of table with one statement on db.
func endSome(t *testing.T, db execer, table string, user int64, n int) {
	t.Helper()
	tag, err := db.Exec(t.Context(), `UPDATE `+table+` SET is_active = false, revoke_reason = 'admin_revoke'
		WHERE id IN (SELECT id FROM `+table+` WHERE user_id = $1 AND is_active LIMIT $2)`, user, n)
	if err != nil {
		t.Fatal(err)
	}
	if int(tag.RowsAffected()) != n {
		t.Fatalf("ended %d sessions, want %d", tag.RowsAffected(), n)
	}
}

// announced collects what arrives on conn until a sentinel sent through
// pool afterwards: notifications arrive in commit order, so it is
// everything that committed before the call. It returns the hash payloads
// (each with how often it came) and the number of empty ones.
func announced(t *testing.T, conn *pgx.Conn, pool *pgxpool.Pool) (hashes map[string]int, empty int) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), "SELECT pg_notify($1, 'sentinel')", pgstore.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	hashes = map[string]int{}
	for {
		switch p := nextPayload(t, conn); p {
		case "sentinel":
			return hashes, empty
		case "":
			empty++
		default:
			hashes[p]++
		}
	}
}

// TestManyEndsInOneTransactionNotifyOnce: a transaction announces each
// session it ends by its token hash up to notifyCap, and past that sends one
// empty payload (forget everything) and nothing more, however it ends them:
// in one statement or several, through savepoints, on a connection that
// ended many before, with a count set by hand, under an empty search_path.
func TestManyEndsInOneTransactionNotifyOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, pgstore.Config{})
	listener := listen(t, f.pool)
	var nsp string
	if err := f.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&nsp); err != nil {
		t.Fatal(err)
	}
	// inTx runs do in one transaction on conn.
	inTx := func(t *testing.T, conn *pgxpool.Conn, do func(tx pgx.Tx)) {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		do(tx)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(t *testing.T, db execer, sql string) {
		t.Helper()
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name     string
		sessions int
		// end ends sessions of user on conn; ended is how many stay ended.
		end           func(t *testing.T, conn *pgxpool.Conn, user int64)
		ended         int
		hashes, empty int // payloads: this many distinct hashes, this many empty
	}{
		{"one", 1, func(t *testing.T, c *pgxpool.Conn, u int64) { endSome(t, c, "sessions", u, 1) }, 1, 1, 0},
		{"the cap", notifyCap, func(t *testing.T, c *pgxpool.Conn, u int64) {
			endSome(t, c, "sessions", u, notifyCap)
		}, notifyCap, notifyCap, 0},
		{"one past the cap", notifyCap + 1, func(t *testing.T, c *pgxpool.Conn, u int64) {
			endSome(t, c, "sessions", u, notifyCap+1)
		}, notifyCap + 1, notifyCap, 1},
		{"past the cap in two statements", notifyCap + 500, func(t *testing.T, c *pgxpool.Conn, u int64) {
			inTx(t, c, func(tx pgx.Tx) {
				endSome(t, tx, "sessions", u, 700)
				endSome(t, tx, "sessions", u, notifyCap+500-700)
			})
		}, notifyCap + 500, notifyCap, 1},
		{"past the cap only in a savepoint rolled back", 1500, func(t *testing.T, c *pgxpool.Conn, u int64) {
			inTx(t, c, func(tx pgx.Tx) {
				endSome(t, tx, "sessions", u, 600)
				exec(t, tx, "SAVEPOINT before_more")
				endSome(t, tx, "sessions", u, 600) // to 1,200: the empty payload, rolled back
				exec(t, tx, "ROLLBACK TO SAVEPOINT before_more")
				endSome(t, tx, "sessions", u, 300)
			})
		}, 900, 900, 0},
		{"past the cap again after a savepoint rolled back", 1800, func(t *testing.T, c *pgxpool.Conn, u int64) {
			inTx(t, c, func(tx pgx.Tx) {
				endSome(t, tx, "sessions", u, 600)
				exec(t, tx, "SAVEPOINT before_more")
				endSome(t, tx, "sessions", u, 600)
				exec(t, tx, "ROLLBACK TO SAVEPOINT before_more")
				endSome(t, tx, "sessions", u, 600)
			})
		}, 1200, notifyCap, 1},
		{"a transaction after one past the cap, on its connection", notifyCap + 6, func(t *testing.T, c *pgxpool.Conn, u int64) {
			endSome(t, c, "sessions", u, notifyCap+1)
			if hashes, empty := announced(t, listener, f.pool); len(hashes) != notifyCap || empty != 1 {
				t.Fatalf("first transaction: %d hashes, %d empty; want %d, 1", len(hashes), empty, notifyCap)
			}
			endSome(t, c, "sessions", u, 5) // counted from zero again
		}, notifyCap + 6, 5, 0},
		{"a count set for the whole session by hand", 5, func(t *testing.T, c *pgxpool.Conn, u int64) {
			exec(t, c, "SET sessionguard.ended_in_transaction = '5000'")
			defer exec(t, c, "RESET sessionguard.ended_in_transaction")
			endSome(t, c, "sessions", u, 5)
		}, 5, 5, 0},
		{"an operator with an empty search_path", notifyCap + 1, func(t *testing.T, c *pgxpool.Conn, u int64) {
			inTx(t, c, func(tx pgx.Tx) {
				exec(t, tx, "SET LOCAL search_path = ''")
				endSome(t, tx, pgx.Identifier{nsp, "sessions"}.Sanitize(), u, notifyCap+1)
			})
		}, notifyCap + 1, notifyCap, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := pgtest.CreateUser(t, f.pool, fmt.Sprintf("many%d@example.com", i), 0)
			all := insertSessions(t, f.pool, user, tt.sessions)
			conn, err := f.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			tt.end(t, conn, user)

			hashes, empty := announced(t, listener, f.pool)
			if len(hashes) != tt.hashes {
				t.Errorf("%d sessions announced by hash, want %d", len(hashes), tt.hashes)
			}
			if empty != tt.empty {
				t.Errorf("%d empty payloads, want %d", empty, tt.empty)
			}
			ended := endedOf(t, f.pool, all)
			if len(ended) != tt.ended {
				t.Fatalf("%d sessions ended, want %d", len(ended), tt.ended)
			}
			for h, n := range hashes {
				if n != 1 || !ended[h] {
					t.Fatalf("a hash announced %d times; ended: %v", n, ended[h])
				}
			}
		})
	}
}

// endedOf is the set of hashes that are no longer active.
func endedOf(t *testing.T, pool *pgxpool.Pool, hashes []string) map[string]bool {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT session_token_hash FROM sessions WHERE session_token_hash = ANY($1) AND NOT is_active", hashes)
	if err != nil {
		t.Fatal(err)
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	set := make(map[string]bool, len(ended))
	for _, h := range ended {
		set[h] = true
	}
	return set
}

// checkAll checks every hash through check from a few goroutines, as
// concurrent requests would, and returns the states in the order of hashes.
func checkAll(t *testing.T, hashes []string, check func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error)) []sessionguard.State {
	t.Helper()
	states := make([]sessionguard.State, len(hashes))
	errs := make([]error, len(hashes))
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(hashes); i += workers {
				st, err := check(t.Context(), hashes[i], sessionguard.Scope{})
				states[i], errs[i] = st.State, err
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return states
}

// count reports how many of states are state.
func count(states []sessionguard.State, state sessionguard.State) int {
	n := 0
	for _, s := range states {
		if s == state {
			n++
		}
	}
	return n
}

// TestRevokeEveryoneReachesTheCache: RevokeEveryone of more sessions than
// notifyCap while a running Cache holds them all. Once its listener has
// handled what arrived (the cache is empty), the Cache answers none of them
// from memory and refuses each; and what arrived was at most notifyCap hash
// payloads and one empty one, not a notification per session.
func TestRevokeEveryoneReachesTheCache(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	c := newCache(t, f.store, pgstore.CacheConfig{})
	runCache(t, c)
	counter := listen(t, f.pool)
	hashes := insertSessions(t, f.pool, f.user, notifyCap+500)
	if valid := count(checkAll(t, hashes, c.Validate), sessionguard.StateValid); valid != len(hashes) {
		t.Fatalf("%d of %d sessions valid before", valid, len(hashes))
	}
	if held := c.Stats().Entries; held != len(hashes) {
		t.Fatalf("the cache holds %d sessions, want %d", held, len(hashes))
	}

	n, err := f.store.RevokeEveryone(ctx, sessionguard.ReasonAdminRevoke)
	if err != nil || n != len(hashes) {
		t.Fatalf("RevokeEveryone = %d, %v; want %d", n, err, len(hashes))
	}
	returned := time.Now()
	eventually(t, "the cache holds none of the sessions", func() bool { return c.Stats().Entries == 0 })
	t.Logf("cache emptied %v after RevokeEveryone returned", time.Since(returned))
	hits := c.Stats().Hits
	if revoked := count(checkAll(t, hashes, c.Validate), sessionguard.StateRevoked); revoked != len(hashes) {
		t.Errorf("%d of %d sessions refused as revoked", revoked, len(hashes))
	}
	if h := c.Stats().Hits - hits; h != 0 {
		t.Errorf("%d revoked sessions answered from memory", h)
	}
	got, empty := announced(t, counter, f.pool)
	if len(got) > notifyCap || empty != 1 {
		t.Errorf("RevokeEveryone of %d sessions sent %d hash payloads and %d empty; want at most %d and 1",
			len(hashes), len(got), empty, notifyCap)
	}
}

// TestReplicaMassRevokeFencedByCache: another instance (no replica) revokes
// every session, more than notifyCap, while this instance's Store reads a
// replica far behind and its Cache holds them all. Once the Cache's
// listener has handled the notifications, neither the Cache nor the Store
// behind it lets any of them through, though the replica still has them
// active: the sessions past the cap, which no notification names, are
// fenced by the empty payload. The replica's replay is paused for the
// revocation, not merely delayed: checking 1,500 sessions three times took
// longer than any fixed delay on a loaded machine, and the replica caught up
// before the last check.
func TestReplicaMassRevokeFencedByCache(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	ctx := t.Context()
	c := newCache(t, f.store, pgstore.CacheConfig{})
	runCache(t, c)
	counter := listen(t, f.pool)
	hashes := insertSessions(t, f.pool, f.user, notifyCap+500)
	f.waitReplayed(t)
	before := f.store.ReplicaStats()
	if valid := count(checkAll(t, hashes, c.Validate), sessionguard.StateValid); valid != len(hashes) {
		t.Fatalf("%d of %d sessions valid before", valid, len(hashes))
	}
	if served := f.store.ReplicaStats().Served - before.Served; served == 0 {
		t.Fatal("the replica answered none of the checks; the test proves nothing")
	}

	f.pauseReplay(t)
	other, err := pgstore.New(f.pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := other.RevokeEveryone(ctx, sessionguard.ReasonAdminRevoke); err != nil || n != len(hashes) {
		t.Fatalf("RevokeEveryone = %d, %v; want %d", n, err, len(hashes))
	}
	eventually(t, "the cache holds none of the sessions", func() bool { return c.Stats().Entries == 0 })
	for _, tc := range []struct {
		name  string
		check func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error)
	}{
		{"Store.Peek", f.store.Peek},
		{"Store.Validate", f.store.Validate},
		{"Cache.Validate", c.Validate},
	} {
		if passed := count(checkAll(t, hashes, tc.check), sessionguard.StateValid); passed != 0 {
			t.Errorf("%s: %d of %d revoked sessions valid", tc.name, passed, len(hashes))
		}
	}
	var stillActive int
	if err := f.rs.StandbyPool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE is_active").Scan(&stillActive); err != nil {
		t.Fatal(err)
	}
	if stillActive == 0 {
		t.Fatal("the replica replayed the revocation while paused; the test proves nothing")
	}
	got, empty := announced(t, counter, f.pool)
	if len(got) > notifyCap || empty != 1 {
		t.Errorf("RevokeEveryone of %d sessions sent %d hash payloads and %d empty; want at most %d and 1",
			len(hashes), len(got), empty, notifyCap)
	}
}

// TestNotifyCountBehindPgBouncer: behind PgBouncer in transaction pooling,
// a transaction that ended more than notifyCap sessions leaves no count for
// the next transaction PgBouncer runs on the same server connection: the
// count is the transaction's own.
func TestNotifyCountBehindPgBouncer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f, bc := newBouncedFixture(t, pgstore.Config{})
	listener := listen(t, bc.Direct)
	insertSessions(t, bc.Direct, f.user, notifyCap+6)
	var pids []uint32
	for _, tc := range []struct{ end, hashes, empty int }{{notifyCap + 1, notifyCap, 1}, {5, 5, 0}} {
		tx, err := bc.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pid uint32
		if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
		endSome(t, tx, "sessions", f.user, tc.end)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if hashes, empty := announced(t, listener, bc.Direct); len(hashes) != tc.hashes || empty != tc.empty {
			t.Errorf("a transaction ending %d: %d hash payloads, %d empty; want %d, %d", tc.end, len(hashes), empty, tc.hashes, tc.empty)
		}
	}
	if pids[0] != pids[1] {
		t.Fatal("PgBouncer ran the two transactions on different server connections; the test proves nothing")
	}
}

// TestCleanerBatchesStayUnderTheNotifyCap: the Cleaner ends at most
// BatchSize sessions per transaction, and its default is notifyCap, so a
// backlog of expired sessions larger than that is announced session by
// session and never makes the Caches forget everything.
func TestCleanerBatchesStayUnderTheNotifyCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	listener := listen(t, f.pool)
	hashes := insertSessions(t, f.pool, f.user, notifyCap+500)
	if _, err := f.pool.Exec(t.Context(), `UPDATE sessions
		SET created_at = now() - interval '5 hours', last_activity_at = now() - interval '5 hours'
		WHERE user_id = $1`, f.user); err != nil {
		t.Fatal(err)
	}
	announced(t, listener, f.pool) // moving last_activity_at back is announced too
	cleaner, err := pgstore.NewCleaner(f.pool, pgstore.CleanerConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if pgstore.DefaultCleanupBatchSize != notifyCap {
		t.Fatalf("the Cleaner's default batch is %d; migration 030's cap is %d", pgstore.DefaultCleanupBatchSize, notifyCap)
	}
	res, err := cleaner.RunOnce(t.Context())
	if err != nil || res.Idle != len(hashes) {
		t.Fatalf("RunOnce = %+v, %v; want %d idle", res, err, len(hashes))
	}
	if got, empty := announced(t, listener, f.pool); len(got) != len(hashes) || empty != 0 {
		t.Errorf("cleanup of %d sessions: %d hash payloads, %d empty; want %d, 0", len(hashes), len(got), empty, len(hashes))
	}
}
