package topology

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestFailover: an instance whose primary pool names both servers
// (target_session_attrs=read-write) and whose read pool is the standby,
// with its Cache on. The primary stops: requests get 503 and the cache
// empties. The standby is promoted (pg_ctl promote): requests succeed again
// without a restart, the cache's listener reconnects and serves, and a
// session revoked or expired before the failover is never accepted.
func TestFailover(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rs := pgtest.NewReplicated(t, 0)
	tokens := sessions(t, rs.PrimaryPool, 3)
	live, revoked, idle := tokens[0], tokens[1], tokens[2]
	store, err := pgstore.New(rs.PrimaryPool, pgstore.Config{ReadPool: rs.StandbyPool, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Revoke(ctx, hashOf(revoked), sessionguard.ReasonLogout); err != nil {
		t.Fatal(err) // returns once the standby has it
	}
	if _, err := rs.PrimaryPool.Exec(ctx, `UPDATE sessions SET last_activity_at = last_activity_at - interval '5 hours'
		WHERE session_token_hash = $1`, hashOf(idle)); err != nil {
		t.Fatal(err)
	}

	in := startInstance(t, "-primary", failoverConnString(rs.Primary, rs.Standby),
		"-replica", rs.Standby.ConnString("postgres"), "-cache")
	for _, c := range []struct {
		token string
		want  int
	}{{live, 200}, {live, 200}, {revoked, 401}, {idle, 401}} {
		if got := in.check(t, c.token); got != c.want {
			t.Fatalf("before the failover: %d; want %d", got, c.want)
		}
	}
	if st := in.state(t); !st.Listening || st.Hits == 0 {
		t.Fatalf("before the failover the cache does not serve: %+v", st)
	}

	// Ended sessions are watched through the whole failover.
	var (
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		passes atomic.Int64
		seen   sync.Map // status code -> true, for the ended sessions
	)
	for _, tok := range []string{revoked, idle} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code := in.check(t, tok)
				seen.Store(code, true)
				if code == http.StatusOK {
					passes.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	// Registered after startInstance's cleanup, so it runs first: a Fatal
	// below must not leave the watchers logging to a finished test.
	stopWatching := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopWatching)

	switchStart := time.Now()
	if err := rs.Primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "requests get 503", func() bool { return in.check(t, live) == http.StatusServiceUnavailable })
	eventually(t, 10*time.Second, "the cache empties and stops serving", func() bool {
		st := in.state(t)
		return !st.Listening && st.Entries == 0
	})
	if err := rs.Standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "requests succeed on the promoted standby", func() bool { return in.check(t, live) == http.StatusOK })
	recovered := time.Since(switchStart)
	eventually(t, 30*time.Second, "the cache's listener reconnects", func() bool { return in.state(t).Listening })
	before := in.state(t).Hits
	for range 3 {
		if got := in.check(t, live); got != http.StatusOK {
			t.Fatalf("after the failover: %d; want 200", got)
		}
	}
	if in.state(t).Hits == before {
		t.Error("the cache does not serve after the failover")
	}
	in.revoke(t, live) // writes reach the new primary
	if got := in.check(t, live); got != http.StatusUnauthorized {
		t.Errorf("revoked after the failover: %d; want 401", got)
	}
	stopWatching()
	t.Logf("primary stopped to requests served again: %v", recovered)
	if n := passes.Load(); n != 0 {
		t.Errorf("%d requests with a revoked or expired session passed during or after the failover", n)
	}
	if _, ok := seen.Load(http.StatusUnauthorized); !ok {
		t.Error("the ended sessions were never refused with 401 by the watchers")
	}
}
