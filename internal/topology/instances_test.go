package topology

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// propagationBound is the requirement: a revocation made through
// one instance is refused by every instance within it, at p99.
const propagationBound = 50 * time.Millisecond

// TestFourInstances runs four testserver processes with caches on one
// database, under a bounded background load. Each revocation, made through
// one of them after all four have the session cached, must be refused by
// all four, and stay refused; the time until each refuses is recorded
// against the 50 ms requirement (logged, not asserted: see below).
// Then PostgreSQL restarts: the listeners lose their connections; while
// they are kept from reconnecting, every instance answers from the
// database (a session revoked then is refused at once); and they reconnect.
func TestFourInstances(t *testing.T) {
	t.Parallel()
	srv, pool := pgtest.NewIsolatedServer(t)
	dsn := srv.ConnString("postgres")
	var ins []*instance
	for range 4 {
		ins = append(ins, startInstance(t, "-primary", dsn, "-cache"))
	}
	tokens := sessions(t, pool, 120)
	background, targets := tokens[:40], tokens[40:]
	// Without a cache that answers, every revocation below would be refused
	// at once and prove nothing about its propagation.
	for i, in := range ins {
		mustAnswerFromMemory(t, i, in, targets[0])
	}

	// Bounded load: two workers per instance, each at most one request per
	// millisecond, on sessions that stay live.
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		requests atomic.Int64
	)
	for _, in := range ins {
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					if code := in.check(t, background[rand.N(len(background))]); code == http.StatusOK {
						requests.Add(1)
					}
				}
			})
		}
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)

	lat := revokeAndWatch(t, ins, targets[:60])
	t.Logf("revocation to refusal on all four instances, %d samples: p50 %v p99 %v max %v (background requests served: %d)",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1], requests.Load())
	// On a shared two-core CI machine the tail is the scheduler's: the
	// number is recorded (BENCHMARKS.md), correctness is what is asserted.
	t.Logf("p99 within the %v requirement: %v", propagationBound, lat[len(lat)*99/100] <= propagationBound)
	stopLoad()

	t.Run("listener reconnects after a restart", func(t *testing.T) {
		ctx := t.Context()
		warm, cold := targets[60], targets[61]
		for _, in := range ins {
			if in.check(t, warm) != http.StatusOK {
				t.Fatal("warm session refused")
			}
		}
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		pool.Reset()
		// Keep the listeners off while the database answers.
		killCtx, stopKilling := context.WithCancel(ctx)
		killed := make(chan struct{})
		go func() {
			defer close(killed)
			for killCtx.Err() == nil {
				_, _ = pool.Exec(killCtx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
					pgstore.ListenerApplicationName)
				time.Sleep(5 * time.Millisecond)
			}
		}()
		// Connections the pools held died with the server: each is a 503
		// (fail closed) until the pool has replaced it.
		for _, in := range ins {
			eventually(t, 10*time.Second, "the instance answers again", func() bool { return in.check(t, warm) == http.StatusOK })
		}
		for i, in := range ins {
			// A reconnect may win a few milliseconds before it is killed.
			eventually(t, 10*time.Second, "the listener is down", func() bool { return !in.state(t).Listening })
			before := in.state(t)
			if code := in.check(t, warm); code != http.StatusOK {
				t.Errorf("instance %d: live session with the listener down: %d; want 200", i, code)
			}
			if after := in.state(t); after.Hits != before.Hits || after.Misses == before.Misses {
				t.Errorf("instance %d: answered from memory with the listener down (%+v, then %+v)", i, before, after)
			}
		}
		ins[0].revoke(t, cold)
		for i, in := range ins {
			if code := in.check(t, cold); code != http.StatusUnauthorized {
				t.Errorf("instance %d: session revoked while the listener is down: %d; want 401 at once", i, code)
			}
		}
		stopKilling()
		<-killed
		for i, in := range ins {
			eventually(t, 10*time.Second, "the listener reconnects", func() bool { return in.state(t).Listening })
			mustAnswerFromMemory(t, i, in, targets[62])
		}
		lat := revokeAndWatch(t, ins, targets[62:])
		t.Logf("after the restart, %d samples: p50 %v p99 %v", len(lat), lat[len(lat)/2], lat[len(lat)*99/100])
	})
}

// mustAnswerFromMemory checks that in, with nothing else asking it, answers
// a second check of a live session from its cache. The cache answers only
// within three health-check intervals (600 ms here) of the listener's last
// proof, and a loaded machine can stall the process longer than that
// between two checks (a stall of 800 ms made the second check a miss): so
// pairs of checks are tried until one is answered from memory, within
// readyLimit.
func mustAnswerFromMemory(t *testing.T, i int, in *instance, token string) {
	t.Helper()
	var before, after state
	for deadline := time.Now().Add(readyLimit); time.Now().Before(deadline); {
		before = in.state(t)
		for range 2 {
			if code := in.check(t, token); code != http.StatusOK {
				t.Fatalf("instance %d: live session: %d; want 200", i, code)
			}
		}
		if after = in.state(t); after.Hits > before.Hits {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("instance %d: no second check of a live session was answered from memory within %v (last: %+v, then %+v)",
		i, readyLimit, before, after)
}

// revokeAndWatch, for each token: makes every instance cache it, revokes it
// through one instance in turn, and measures per instance the time from the
// revoke's return until that instance refuses it; once refused, a session
// must stay refused. It returns the sorted times.
func revokeAndWatch(t *testing.T, ins []*instance, tokens []string) []time.Duration {
	t.Helper()
	var all []time.Duration
	for k, tok := range tokens {
		for _, in := range ins {
			for range 2 { // the second is answered from memory
				if code := in.check(t, tok); code != http.StatusOK {
					t.Fatalf("session %d before its revoke: %d", k, code)
				}
			}
		}
		ins[k%len(ins)].revoke(t, tok)
		revoked := time.Now()
		lat := make([]time.Duration, len(ins))
		var wg sync.WaitGroup
		for i, in := range ins {
			wg.Go(func() {
				for {
					code := in.check(t, tok)
					if code == http.StatusUnauthorized {
						lat[i] = time.Since(revoked)
						break
					}
					if code != http.StatusOK || time.Since(revoked) > 10*time.Second {
						t.Errorf("instance %d, session %d after its revoke: %d", i, k, code)
						return
					}
				}
				for range 3 {
					if code := in.check(t, tok); code != http.StatusUnauthorized {
						t.Errorf("instance %d, session %d: %d after a refusal; want 401", i, k, code)
					}
				}
			})
		}
		wg.Wait()
		all = append(all, lat...)
	}
	slices.Sort(all)
	return all
}
