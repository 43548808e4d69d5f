package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

var quiet = slog.New(slog.DiscardHandler)

// runCache starts c's listener for the test and waits until it serves.
func runCache(t *testing.T, c *pgstore.Cache) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
	eventually(t, "the listener connects", c.Listening)
}

// testLogger writes to t's output, shown when t fails: a listener that
// reconnected or a replica skipped under load says so there. Only for what
// ends with t (a Cache run by runCache, which waits for it).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func newCache(t *testing.T, store *pgstore.Store, cfg pgstore.CacheConfig) *pgstore.Cache {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	c, err := pgstore.NewCache(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond until it holds, failing after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustValidate(t *testing.T, v validator, hash string, scope sessionguard.Scope) sessionguard.Status {
	t.Helper()
	st, err := v.Validate(context.Background(), hash, scope)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// hit checks hash through c and reports whether memory answered.
func hit(t *testing.T, c *pgstore.Cache, hash string) (sessionguard.Status, bool) {
	t.Helper()
	before := c.Stats().Hits
	st := mustValidate(t, c, hash, sessionguard.Scope{})
	return st, c.Stats().Hits > before
}

// A cached answer is the store's answer; a session that ends by any route
// (here: by hand, through the seed's functions, from another connection) is
// refused by the cache as the store refuses it.
func TestCacheAnswersAsTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{})
	runCache(t, c)
	other, err := pgxpool.NewWithConfig(ctx, f.pool.Config()) // another program's connection
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	exec := func(t *testing.T, sql string, args ...any) {
		t.Helper()
		if _, err := other.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		end  func(t *testing.T, hash string)
		want sessionguard.State
	}{
		{"valid", nil, sessionguard.StateValid},
		{"idle expired", func(t *testing.T, h string) { f.age(t, h, 4*time.Hour, 0) }, sessionguard.StateIdle},
		{"absolute expired", func(t *testing.T, h string) { f.age(t, h, 0, 8*time.Hour) }, sessionguard.StateAbsolute},
		{"revoked while cached, by revoke_session from another connection", func(t *testing.T, h string) {
			exec(t, "SELECT revoke_session($1, 'admin_revoke')", h)
		}, sessionguard.StateRevoked},
		{"ended by cleanup from another connection", func(t *testing.T, h string) {
			exec(t, "UPDATE sessions SET absolute_expires_at = now() - interval '1 second' WHERE session_token_hash = $1", h)
			exec(t, "SELECT cleanup_expired_sessions()")
		}, sessionguard.StateAbsolute},
		{"unknown", nil, sessionguard.StateUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := newHash(t)
			if tt.want != sessionguard.StateUnknown {
				f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = hash })
				first, wasHit := hit(t, c, hash)
				if wasHit || !first.Valid() {
					t.Fatalf("first check: hit=%v state=%q, want a valid miss", wasHit, first.State)
				}
				second, wasHit := hit(t, c, hash)
				if !wasHit {
					t.Fatal("second check of a valid session did not hit")
				}
				if second.CheckedAt.Before(first.CheckedAt) {
					t.Fatal("a hit's clock runs behind the database's")
				}
				second.CheckedAt = first.CheckedAt
				if !reflect.DeepEqual(second, first) {
					t.Fatalf("hit:\n%+v\ndatabase:\n%+v", second, first)
				}
			}
			if tt.end != nil {
				tt.end(t, hash)
			}
			var got sessionguard.Status
			eventually(t, "the cache refuses as the store does", func() bool {
				got = mustValidate(t, c, hash, sessionguard.Scope{})
				return got.State == tt.want
			})
			want, err := f.store.Peek(ctx, hash, sessionguard.Scope{})
			if err != nil {
				t.Fatal(err)
			}
			// Validate recorded the expiry (EndedNow); the Peek after it only sees it.
			got.CheckedAt, want.CheckedAt = time.Time{}, time.Time{}
			got.EndedNow = false
			if tt.want != sessionguard.StateValid && !reflect.DeepEqual(got, want) {
				t.Fatalf("cache:\n%+v\nstore:\n%+v", got, want)
			}
		})
	}
}

// Hits compute the remaining times from the cached expiry times, and stop at
// the expiry itself: the database then records it.
func TestCacheHitsKeepExpiryExact(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{})
	runCache(t, c)
	tests := []struct {
		name           string
		idle, absolute time.Duration
		want           sessionguard.State
	}{
		{"idle", 2 * time.Second, time.Hour, sessionguard.StateIdle},
		{"absolute", time.Hour, 2 * time.Second, sessionguard.StateAbsolute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hash, _ := f.create(t, func(n *sessionguard.NewSession) { n.IdleTimeout, n.AbsoluteTimeout = tt.idle, tt.absolute })
			first := mustValidate(t, c, hash, sessionguard.Scope{})
			if !first.Valid() {
				t.Fatalf("fresh session: %q", first.State)
			}
			var (
				hits int
				last = first
				st   sessionguard.Status
			)
			for {
				var wasHit bool
				st, wasHit = hit(t, c, hash)
				if !st.Valid() {
					break
				}
				if !st.CheckedAt.Before(st.IdleExpiresAt) || !st.CheckedAt.Before(st.AbsoluteExpiresAt) {
					t.Fatalf("valid at %v, past an expiry (idle %v, absolute %v)", st.CheckedAt, st.IdleExpiresAt, st.AbsoluteExpiresAt)
				}
				if st.IdleRemaining()+st.AbsoluteRemaining() > last.IdleRemaining()+last.AbsoluteRemaining() {
					t.Fatalf("remaining times grew without a touch: %v/%v after %v/%v",
						st.IdleRemaining(), st.AbsoluteRemaining(), last.IdleRemaining(), last.AbsoluteRemaining())
				}
				if wasHit {
					hits++
				}
				last = st
				if time.Since(first.CheckedAt) > 10*time.Second {
					t.Fatal("the session never expired")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if st.State != tt.want {
				t.Fatalf("state at the end = %q, want %q", st.State, tt.want)
			}
			if hits < 10 {
				t.Fatalf("only %d hits before the expiry", hits)
			}
			if last.IdleRemaining()+last.AbsoluteRemaining() >= first.IdleRemaining()+first.AbsoluteRemaining() {
				t.Fatal("the hits reported the first answer's remaining times, not the current ones")
			}
			if r := f.row(t, hash); r.Active || r.reason() != string(tt.want) {
				t.Fatalf("the expiry was not recorded in the database: %+v", r)
			}
		})
	}
}

// A busy session cached on two instances is still written at most once per
// touch interval: consecutive writes of last_activity_at are an interval apart.
func TestCacheTouchesAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{TouchInterval: time.Second})
	touches := auditTouches(t, f.pool)
	a := newCache(t, f.store, pgstore.CacheConfig{})
	b := newCache(t, f.store, pgstore.CacheConfig{})
	runCache(t, a)
	runCache(t, b)
	hash, _ := f.create(t, nil)
	start := time.Now()
	var all []sessionguard.Status
	for time.Since(start) < 3500*time.Millisecond {
		all = append(all, hammer(t, []validator{a, b, f.store}, hash, 12, 20)...)
	}
	for _, st := range all {
		if !st.Valid() {
			t.Fatalf("state %q", st.State)
		}
	}
	written := touches(hash)
	if len(written) < 2 {
		t.Fatalf("%d writes in 3.5 s with a 1 s interval: the cache stopped the touches", len(written))
	}
	for i := 1; i < len(written); i++ {
		if d := written[i].Sub(written[i-1]); d < time.Second {
			t.Fatalf("writes %d and %d of last_activity_at are %v apart, less than the 1 s interval", i-1, i, d)
		}
	}
	if s := a.Stats(); s.Hits == 0 {
		t.Fatalf("cache A never hit: %+v", s)
	}
	t.Logf("%d writes for %d checks; cache A %+v", len(written), len(all), a.Stats())
}

// Two instances: a revoke on A is refused by B once the notification lands.
func TestCacheRevocationReachesOtherInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	poolB, err := pgxpool.NewWithConfig(ctx, f.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolB.Close)
	storeB, err := pgstore.New(poolB, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := newCache(t, f.store, pgstore.CacheConfig{})
	b := newCache(t, storeB, pgstore.CacheConfig{})
	runCache(t, a)
	runCache(t, b)

	tests := []struct {
		name   string
		revoke func(t *testing.T, hash string)
		want   sessionguard.State
	}{
		{"Revoke on A", func(t *testing.T, h string) {
			if ok, err := a.Revoke(ctx, h, sessionguard.ReasonLogout); err != nil || !ok {
				t.Fatalf("Revoke = %v, %v", ok, err)
			}
			if st := mustValidate(t, a, h, sessionguard.Scope{}); st.State != sessionguard.StateRevoked {
				t.Fatalf("A itself still answers %q right after its Revoke", st.State)
			}
		}, sessionguard.StateRevoked},
		{"RevokeAll on A's store", func(t *testing.T, _ string) {
			if n, err := a.Store().RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange); err != nil || n == 0 {
				t.Fatalf("RevokeAll = %v, %v", n, err)
			}
		}, sessionguard.StateRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, _ := f.create(t, nil)
			mustValidate(t, b, hash, sessionguard.Scope{})
			if _, wasHit := hit(t, b, hash); !wasHit {
				t.Fatal("B does not hold the session")
			}
			tt.revoke(t, hash)
			eventually(t, "B refuses the revoked session", func() bool {
				return mustValidate(t, b, hash, sessionguard.Scope{}).State == tt.want
			})
		})
	}
}

// Scope is checked on a hit; the cache is bounded, least recently used first out.
func TestCacheScopeAndBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{MaxEntries: 3})
	runCache(t, c)
	tenant, _ := f.create(t, func(n *sessionguard.NewSession) { n.AppType = sessionguard.TenantApp; n.TenantID = f.tenant })
	mustValidate(t, c, tenant, sessionguard.Scope{})
	for _, tt := range []struct {
		scope sessionguard.Scope
		want  sessionguard.State
	}{
		{sessionguard.Scope{AppType: sessionguard.ControlPanel}, sessionguard.StateWrongApp},
		{sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant + 1}, sessionguard.StateWrongTenant},
		{sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant}, sessionguard.StateValid},
	} {
		if st := mustValidate(t, c, tenant, tt.scope); st.State != tt.want {
			t.Fatalf("scope %+v: %q, want %q", tt.scope, st.State, tt.want)
		}
	}

	var hashes []string
	for range 5 {
		h, _ := f.create(t, nil)
		mustValidate(t, c, h, sessionguard.Scope{})
		hashes = append(hashes, h)
	}
	if n := c.Stats().Entries; n != 3 {
		t.Fatalf("%d entries, want the bound 3", n)
	}
	for i := len(hashes) - 1; i >= 0; i-- { // most recent first: a miss refills and evicts
		if _, wasHit := hit(t, c, hashes[i]); wasHit != (i >= 2) {
			t.Fatalf("session %d: hit=%v; want only the 3 most recent held", i, wasHit)
		}
	}
}

// The bound drops the least recently used sessions, and a hit leaves an
// entry near the front where it is (promoteLocked): a session used between
// every two new ones is never dropped, the sessions used less recently are.
func TestCacheDropsTheLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{MaxEntries: 8})
	runCache(t, c)
	fill := func() string {
		h, _ := f.create(t, nil)
		mustValidate(t, c, h, sessionguard.Scope{})
		return h
	}
	var old []string
	for range 8 {
		old = append(old, fill())
	}
	for _, h := range old[:4] { // the four oldest, used again
		if _, wasHit := hit(t, c, h); !wasHit {
			t.Fatal("a held session missed")
		}
	}
	hot := fill() // drops old[4], the least recently used
	for i, h := range old[:5] {
		if _, wasHit := hit(t, c, h); wasHit != (i < 4) {
			t.Fatalf("old session %d: hit=%v; want the four used again held and the next dropped", i, wasHit)
		}
	}
	for i := range 40 {
		fill()
		if _, wasHit := hit(t, c, hot); !wasHit {
			t.Fatalf("the session used between every two new ones was dropped after %d new ones", i+1)
		}
	}
	if n := c.Stats().Entries; n != 8 {
		t.Fatalf("%d entries, want the bound 8", n)
	}
	for i, h := range old {
		if _, wasHit := hit(t, c, h); wasHit {
			t.Errorf("old session %d still held after 41 newer ones in 8 places", i)
		}
	}
}

// A hit allocates nothing, Validate and Peek alike: the Guard's cached path
// (middleware's BenchmarkMiddlewareCached) counts on it.
// (Not parallel: AllocsPerRun counts every goroutine's allocations. The
// listener's health check, slowed down here, and the pool's background work
// may still allocate during a measurement: the least of three counts.)
func TestCacheHitAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{HealthCheckInterval: time.Minute})
	runCache(t, c)
	hash, _ := f.create(t, nil)
	mustValidate(t, c, hash, sessionguard.Scope{})
	for name, check := range map[string]func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error){
		"Validate": c.Validate, "Peek": c.Peek,
	} {
		before := c.Stats()
		allocs := math.Inf(1)
		for range 3 {
			allocs = min(allocs, testing.AllocsPerRun(100, func() { _, _ = check(ctx, hash, sessionguard.Scope{}) }))
		}
		if after := c.Stats(); after.Misses != before.Misses {
			t.Fatalf("%s: %d misses, want hits only", name, after.Misses-before.Misses)
		}
		if allocs != 0 {
			t.Errorf("%s: a hit allocates %v times, want 0", name, allocs)
		}
	}
}

// Without a listener the cache is a pass-through; a second Run is refused.
func TestCacheWithoutListenerPassesThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{})
	hash, _ := f.create(t, nil)
	for range 3 {
		if _, wasHit := hit(t, c, hash); wasHit {
			t.Fatal("a cache without a listener answered from memory")
		}
	}
	runCache(t, c)
	if err := c.Run(context.Background()); !errors.Is(err, pgstore.ErrCacheRunning) {
		t.Fatalf("second Run = %v, want ErrCacheRunning", err)
	}
	if _, err := pgstore.NewCache(nil, pgstore.CacheConfig{}); !isInvalid(err) {
		t.Fatalf("NewCache(nil) = %v", err)
	}
	if _, err := pgstore.NewCache(f.store, pgstore.CacheConfig{TTL: -time.Second}); !isInvalid(err) {
		t.Fatalf("negative TTL = %v", err)
	}
}

// When the listener's connection is killed, the cache empties and every
// call goes to the database (so a revocation made meanwhile is refused at
// once); the listener reconnects and the cache serves again.
func TestCacheListenerDrop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{MaxReconnectDelay: 200 * time.Millisecond})
	runCache(t, c)
	keep, _ := f.create(t, nil)
	gone, _ := f.create(t, nil)
	for _, h := range []string{keep, gone} {
		mustValidate(t, c, h, sessionguard.Scope{})
		if _, wasHit := hit(t, c, h); !wasHit {
			t.Fatal("not cached")
		}
	}

	var killed int
	if err := f.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, pgstore.ListenerApplicationName).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listener backends, want 1", killed)
	}
	// Revoked behind the cache's back while nobody listens: no notification
	// will ever reach this cache.
	if _, err := f.pool.Exec(ctx, "ALTER TABLE sessions DISABLE TRIGGER sessionguard_ended_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, "SELECT revoke_session($1)", gone); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cache notices the drop", func() bool { return !c.Listening() })
	if n := c.Stats().Entries; n != 0 {
		t.Fatalf("%d entries kept after the drop", n)
	}
	if st, wasHit := hit(t, c, gone); wasHit || st.State != sessionguard.StateRevoked {
		t.Fatalf("during the drop: hit=%v state=%q, want the database's revoked", wasHit, st.State)
	}
	if _, err := f.pool.Exec(ctx, "ALTER TABLE sessions ENABLE TRIGGER sessionguard_ended_update"); err != nil {
		t.Fatal(err)
	}

	eventually(t, "the listener reconnects", c.Listening)
	if st, wasHit := hit(t, c, gone); wasHit || st.State != sessionguard.StateRevoked {
		t.Fatalf("after reconnecting: hit=%v state=%q, want the database's revoked", wasHit, st.State)
	}
	mustValidate(t, c, keep, sessionguard.Scope{})
	if _, wasHit := hit(t, c, keep); !wasHit {
		t.Fatal("the cache does not serve again after reconnecting")
	}
}

// Run logs the drop without a token or hash.
func TestCacheLogsNoHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	var buf syncBuffer
	c := newCache(t, f.store, pgstore.CacheConfig{Logger: slog.New(slog.NewTextHandler(&buf, nil)), MaxReconnectDelay: 100 * time.Millisecond})
	runCache(t, c)
	hash, _ := f.create(t, nil)
	mustValidate(t, c, hash, sessionguard.Scope{})
	mustRevoke(t, f, hash, sessionguard.ReasonLogout)
	if _, err := f.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, pgstore.ListenerApplicationName); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the drop is logged", func() bool { return buf.contains("disconnected") })
	eventually(t, "the listener reconnects", c.Listening)
	if buf.contains(hash) || buf.contains(hash[:16]) {
		t.Fatal("a token hash reached the log")
	}
}

// syncBuffer collects log output from the listener goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Contains(s.buf.String(), sub)
}

// ListenConnString is checked when the Cache is built, and its parse error
// does not repeat the password.
func TestNewCacheListenConnString(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	const secret = "hunter2-secret"
	_, err := pgstore.NewCache(f.store, pgstore.CacheConfig{ListenConnString: "postgres://u:" + secret + "@localhost:notaport/db"})
	if !isInvalid(err) || strings.Contains(err.Error(), secret) {
		t.Fatalf("NewCache with a malformed ListenConnString = %v; want ErrInvalidArgument without the password", err)
	}
}

// A listener on another database never hears the pool's notifications: the
// probe catches that too, as ErrListenerNoSession.
func TestCacheListenerOnAnotherDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	elsewhere := pgtest.NewBounced(t)
	var buf syncBuffer
	c := newCache(t, f.store, pgstore.CacheConfig{
		ListenConnString:    elsewhere.DirectConnString,
		Logger:              slog.New(slog.NewTextHandler(&buf, nil)),
		HealthCheckInterval: 100 * time.Millisecond,
		MaxReconnectDelay:   100 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	eventually(t, "the listener reports it hears nothing", func() bool { return buf.contains(pgstore.ErrListenerNoSession.Error()) })
	if c.Listening() {
		t.Fatal("the cache serves with a listener on another database")
	}
}

// TestCacheAnswersAreTheCallersOwn: a caller that writes into the AMR of a
// status the cache gave it (filled or hit) changes nothing the cache
// answers later.
func TestCacheAnswersAreTheCallersOwn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{})
	runCache(t, c)
	hash, _ := f.create(t, func(n *sessionguard.NewSession) { n.AMR = []string{"pwd", "otp"} })
	filled := mustValidate(t, c, hash, sessionguard.Scope{})
	filled.AMR[0] = "changed by the first caller"
	for i := range 2 {
		st, wasHit := hit(t, c, hash)
		if !wasHit {
			t.Fatal("a cached session missed")
		}
		if !slices.Equal(st.AMR, []string{"pwd", "otp"}) {
			t.Fatalf("hit %d: AMR %q; want the row's [pwd otp]", i, st.AMR)
		}
		st.AMR[1] = "changed by a hit's caller"
	}
}
