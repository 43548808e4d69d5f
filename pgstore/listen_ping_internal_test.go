package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// cachedSessionFixture is a Store on a database of its own, a Cache over it
// with cfg (not running), and the hash of a live control-panel session.
func cachedSessionFixture(t *testing.T, cfg CacheConfig) (*Store, *Cache, string) {
	t.Helper()
	pool := pgtest.NewPool(t)
	store, err := New(pool, Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	user := pgtest.CreateUser(t, pool, "alice@acme.example", pgtest.CreateTenant(t, pool, "acme"))
	sum := sha256.Sum256([]byte(t.Name()))
	hash := hex.EncodeToString(sum[:])
	if _, err := store.Create(context.Background(), sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
		t.Fatal(err)
	}
	return store, c, hash
}

// TestPingProofEvictsWhatArrivedFirst: the listener's ping, which proves
// its connection alive again after a quiet interval, brings in the
// notifications that arrived ahead of its answer. Those are evicted before
// the proof lets a cache whose serving window had run out (a starved
// listener) answer again: recorded first, the cache answered "valid" for
// a session whose revocation pgx already held.
func TestPingProofEvictsWhatArrivedFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, c, hash := cachedSessionFixture(t, CacheConfig{})

	conn, err := pgx.ConnectConfig(ctx, c.listen.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		t.Fatal(err)
	}
	c.connected(time.Now())
	scope := sessionguard.Scope{AppType: sessionguard.ControlPanel}
	if st, err := c.Peek(ctx, hash, scope); err != nil || st.State != sessionguard.StateValid {
		t.Fatalf("Peek = %+v, %v", st, err)
	}
	if _, hit := c.lookup(hash, scope, false); !hit {
		t.Fatal("the session is not cached")
	}

	c.proven.Store(1) // the serving window ran out long ago
	if ended, err := store.Revoke(ctx, hash, sessionguard.ReasonAdminRevoke); err != nil || !ended {
		t.Fatalf("Revoke = %v, %v", ended, err)
	}
	// A query's answer comes after the notifications committed before it:
	// pgx holds the revocation's now, unread.
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if err := c.proveByPing(ctx, conn, time.Second); err != nil {
		t.Fatal(err)
	}
	if !c.serving(time.Now()) {
		t.Fatal("not serving after the ping's proof")
	}
	if st, hit := c.lookup(hash, scope, false); hit {
		t.Fatalf("the cache answers %q for a session revoked ahead of the ping's answer", st.State)
	}
}

// TestLookupWaitingForTheLockSeesTheWindowEnd: a hit that waited for the
// cache's lock (held by other hits on a starved process) judges the
// serving window by the time it got the lock, not by the time it asked:
// a window that ran out during the wait answers nothing from memory.
func TestLookupWaitingForTheLockSeesTheWindowEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const interval = 100 * time.Millisecond
	_, c, hash := cachedSessionFixture(t, CacheConfig{HealthCheckInterval: interval})
	scope := sessionguard.Scope{AppType: sessionguard.ControlPanel}
	c.connected(time.Now())
	if st, err := c.Peek(ctx, hash, scope); err != nil || st.State != sessionguard.StateValid {
		t.Fatalf("Peek = %+v, %v", st, err)
	}
	c.alive(time.Now()) // the window counts from here, however slow the Peek was
	if _, hit := c.lookup(hash, scope, false); !hit {
		t.Fatal("the session is not cached")
	}

	c.alive(time.Now())
	c.mu.Lock()
	hit := make(chan bool)
	go func() {
		_, ok := c.lookup(hash, scope, false)
		hit <- ok
	}()
	time.Sleep(4 * interval) // past the window of three intervals, with no proof
	c.mu.Unlock()
	if <-hit {
		t.Fatal("a lookup that got the lock after the serving window ran out answered from memory")
	}
}

// TestNotificationProofEvictsWhatArrivedFirst is the same rule for a
// notification: its arrival proves the connection alive, but the proof is
// recorded only after what it carries is evicted. Recorded first, a cache
// whose serving window had run out answered "valid" again, from the proof
// until the eviction got the cache's lock, for the very session the
// notification ends. The test holds the lock, so the listener's eviction
// waits on it: no proof may be recorded meanwhile.
func TestNotificationProofEvictsWhatArrivedFirst(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A long interval: no ping proves the connection during the test, so a
	// notification is the only proof there is.
	store, c, hash := cachedSessionFixture(t, CacheConfig{HealthCheckInterval: time.Hour})
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	for deadline := time.Now().Add(30 * time.Second); !c.Listening(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listener did not connect")
		}
	}
	scope := sessionguard.Scope{AppType: sessionguard.ControlPanel}
	if st, err := c.Peek(ctx, hash, scope); err != nil || st.State != sessionguard.StateValid {
		t.Fatalf("Peek = %+v, %v", st, err)
	}
	if _, hit := c.lookup(hash, scope, false); !hit {
		t.Fatal("the session is not cached")
	}

	const ranOut = -int64(4 * time.Hour) // the last proof, long before the window
	c.mu.Lock()
	c.proven.Store(ranOut)
	if ended, err := store.Revoke(ctx, hash, sessionguard.ReasonAdminRevoke); err != nil || !ended {
		c.mu.Unlock()
		t.Fatalf("Revoke = %v, %v", ended, err)
	}
	// Until the listener, the notification in hand, waits for the lock to
	// evict: a fixed wait passed unseen on a machine slow to deliver it.
	for deadline := time.Now().Add(30 * time.Second); !waitingToEvict(); time.Sleep(10 * time.Millisecond) {
		if c.proven.Load() != ranOut {
			c.mu.Unlock()
			t.Fatal("the notification's proof was recorded before the eviction of what it carries")
		}
		if time.Now().After(deadline) {
			c.mu.Unlock()
			t.Fatal("the listener never waited for the lock to evict the revoked session")
		}
	}
	time.Sleep(50 * time.Millisecond)
	if c.proven.Load() != ranOut {
		c.mu.Unlock()
		t.Fatal("the notification's proof was recorded before the eviction of what it carries")
	}
	c.mu.Unlock()

	// Once the eviction is done, the proof follows, and the cache answers
	// again, from the database for the revoked session.
	for deadline := time.Now().Add(30 * time.Second); !c.Listening(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no proof after the eviction")
		}
	}
	if st, hit := c.lookup(hash, scope, false); hit {
		t.Fatalf("the cache answers %q for the revoked session", st.State)
	}
}

// waitingToEvict reports whether the goroutine this test started to run
// the cache (and no other test's) waits for the cache's lock in evictNotified, as
// the listener does with a notification in hand.
func waitingToEvict() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf)) // every goroutine of the parallel tests
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[sync.Mutex.Lock") && strings.Contains(g, "pgstore.(*Cache).evictNotified(") &&
			strings.Contains(g, "created by github.com/sessionguard/sessionguard/pgstore.TestNotificationProofEvictsWhatArrivedFirst") {
			return true
		}
	}
	return false
}
