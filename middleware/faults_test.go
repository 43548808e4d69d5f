package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// statusCounts counts response statuses, safe for concurrent use.
type statusCounts struct {
	mu sync.Mutex
	m  map[int]int
}

func (s *statusCounts) add(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int]int{}
	}
	s.m[code]++
}

func (s *statusCounts) snapshot() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int, len(s.m))
	for k, v := range s.m {
		out[k] = v
	}
	return out
}

// get sends one request with token as the session cookie and returns the
// status, or 0 when the request itself failed.
func get(client *http.Client, url, token string) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Cookie", "__Host-session="+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDatabaseFaults takes the database away under a running app (the real
// middleware and pgstore.Store over its own PostgreSQL server) and checks
// that it fails closed and heals by itself.
func TestDatabaseFaults(t *testing.T) {
	t.Parallel()
	srv, pool := pgtest.NewIsolatedServer(t)
	db := tracedDB(t, pool, pool.Config(), pgstore.Config{TouchInterval: -1}) // every request writes
	g := newGuard(t, db.store, func(c *middleware.Config) {
		c.AppType = sessionguard.ControlPanel
		c.StoreTimeout = 500 * time.Millisecond
	})
	var tokens []string
	for range 8 {
		tokens = append(tokens, signInUser(t, g, db.user))
	}
	ts := httptest.NewServer(g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
	defer ts.Close()
	client := ts.Client()
	client.Timeout = 30 * time.Second

	t.Run("server stopped and restarted under load", func(t *testing.T) {
		ctx := t.Context()
		var (
			phase   atomic.Int32 // 0 up, 1 stopping, 2 down, 3 restarting
			byPhase [4]statusCounts
			stop    = make(chan struct{})
			wg      sync.WaitGroup
		)
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					p := phase.Load()
					code := get(client, ts.URL, tokens[(w+i)%len(tokens)])
					// A request counts for the phase it was sent in, unless
					// the phase moved on while it was in flight.
					if phase.Load() == p {
						byPhase[p].add(code)
					}
				}
			})
		}
		// Up until some requests passed: on a loaded CI machine under -race
		// the first ones took longer than a fixed 300 ms, and the phase
		// had none to judge.
		for up := time.Now().Add(30 * time.Second); byPhase[0].snapshot()[200] < 16 && time.Now().Before(up); {
			time.Sleep(20 * time.Millisecond)
		}
		phase.Store(1)
		if err := srv.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		phase.Store(2)
		time.Sleep(500 * time.Millisecond)
		phase.Store(3)
		if err := srv.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()

		up, down := byPhase[0].snapshot(), byPhase[2].snapshot()
		t.Logf("statuses before the stop %v, while stopping %v, while down %v, while restarting %v",
			up, byPhase[1].snapshot(), down, byPhase[3].snapshot())
		if len(up) != 1 || up[200] == 0 {
			t.Fatalf("before the stop: %v, want only 200", up)
		}
		if len(down) != 1 || down[503] == 0 {
			t.Fatalf("while the database was down: %v, want only 503", down)
		}
		for p := 1; p <= 3; p++ {
			for code := range byPhase[p].snapshot() {
				if code != 200 && code != 503 {
					t.Fatalf("phase %d: status %d; a valid session gets 200 or 503, nothing else", p, code)
				}
			}
		}

		// Healed without restarting the app: the pool reconnects by itself.
		deadline := time.Now().Add(30 * time.Second)
		for get(client, ts.URL, tokens[0]) != 200 {
			if time.Now().After(deadline) {
				t.Fatal("no 200 within 30s of the restart")
			}
			time.Sleep(50 * time.Millisecond)
		}
		for i := range 50 {
			if code := get(client, ts.URL, tokens[i%len(tokens)]); code != 200 {
				t.Fatalf("request %d after recovery: %d", i, code)
			}
		}
		// The test's own admin pool (not the app's) sat idle through the
		// restart; drop its dead connections for the next subtests.
		pool.Reset()
	})

	t.Run("a locked table is a 503 within the timeout", func(t *testing.T) {
		ctx := t.Context()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(ctx, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		code := get(client, ts.URL, tokens[0])
		took := time.Since(start)
		if code != 503 {
			t.Fatalf("status %d with the table locked, want 503", code)
		}
		if took > 20*time.Second {
			t.Fatalf("answered after %v; the store timeout is 500ms", took)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if code := get(client, ts.URL, tokens[0]); code != 200 {
			t.Fatalf("after the lock: %d", code)
		}
	})

	t.Run("a held row lock is a 503 within the timeout", func(t *testing.T) {
		ctx := t.Context()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		// Every request writes last_activity_at, so it waits for this lock.
		if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_token_hash = encode(sha256($1::bytea), 'hex') FOR UPDATE", tokens[1]); err != nil {
			t.Fatal(err)
		}
		if code := get(client, ts.URL, tokens[1]); code != 503 {
			t.Fatalf("status %d with the row locked, want 503", code)
		}
		if code := get(client, ts.URL, tokens[2]); code != 200 {
			t.Fatalf("another session while one row is locked: %d", code)
		}
	})

	t.Run("a full pool queues, then refuses; never passes", func(t *testing.T) {
		ctx := t.Context()
		cfg := pool.Config()
		cfg.MaxConns = 1
		small := tracedDB(t, pool, cfg, pgstore.Config{})
		sg := newGuard(t, small.store, func(c *middleware.Config) { c.StoreTimeout = 300 * time.Millisecond })
		// Signed in through a Guard with a long timeout: the sign-in dials
		// the small pool's connection, which on a loaded machine (-race,
		// packages in parallel) took longer than sg's 300 ms, and the
		// sign-in is not what this case is about.
		sg2 := newGuard(t, small.store, func(c *middleware.Config) { c.StoreTimeout = 20 * time.Second })
		tok := signInUser(t, sg2, small.user)
		held, err := small.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		release := sync.OnceFunc(held.Release)
		defer release()

		codes := make(chan int, 4)
		for range cap(codes) {
			go func() { codes <- serve(sg, hostileRequest(ck("__Host-session="+tok))) }()
		}
		for range cap(codes) {
			if code := <-codes; code != 503 {
				t.Fatalf("with the only connection taken: %d, want 503", code)
			}
		}
		// Queued requests are served once a connection is free.
		go func() {
			time.Sleep(100 * time.Millisecond)
			release()
		}()
		if code := serve(sg2, hostileRequest(ck("__Host-session="+tok))); code != 200 {
			t.Fatalf("queued request after the connection came back: %d", code)
		}
	})
}
