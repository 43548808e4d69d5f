package pgstore

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
)

// Cache defaults.
const (
	DefaultCacheMaxEntries     = 100_000
	DefaultCacheTTL            = 5 * time.Minute
	DefaultHealthCheckInterval = time.Second
	DefaultMaxReconnectDelay   = 5 * time.Second
)

// ErrCacheRunning means Run was called while another Run of the same Cache
// was still going.
var ErrCacheRunning = errors.New("pgstore: cache listener already running")

// CacheConfig tunes a Cache. The zero value is ready to use.
type CacheConfig struct {
	// MaxEntries bounds how many sessions the cache holds; the least recently
	// used is dropped first. Default 100,000 (a few hundred bytes each).
	// Recency is kept coarsely, to keep hits cheap: a session is dropped no
	// sooner than after three quarters of MaxEntries additions and uses of
	// other sessions since its own last use (an exact order would wait for
	// all of MaxEntries).
	MaxEntries int
	// TTL bounds how long one database answer is reused, whatever else
	// happens (default 5m). Notifications evict sooner; a busy session goes
	// back to the database anyway once per touch interval to be touched.
	TTL time.Duration
	// HealthCheckInterval is how often the listener pings its connection,
	// however busy the channel (default 1s), and how often it sends a
	// notification through the store's pool that the connection must have
	// received by a ping's answer: one that no longer hears the pool's
	// server (a failover moved the pool) is given up within about two
	// intervals. The cache answers only while the last proof (a ping's
	// answer or a notification) is younger than three intervals, so a
	// connection that died silently (a half-open TCP connection) stops the
	// cache within that time.
	HealthCheckInterval time.Duration
	// MaxReconnectDelay caps the backoff between attempts to reconnect the
	// listener (default 5s; it starts at 100ms and doubles, and starts
	// again at 100ms only after a connection that lasted this long).
	MaxReconnectDelay time.Duration
	// ListenConnString is where the listener connects: PostgreSQL itself,
	// the database of the Store's pool, as a URL or keyword/value string.
	// LISTEN needs a session of its own, which a transaction pooler (PgBouncer
	// in pool_mode=transaction) does not give: when the pool goes through
	// one, point this past it, straight at PostgreSQL. Default: the pool's
	// connection settings.
	// Every connection is proven before the cache uses it: a notification
	// sent through the pool must reach it (ErrListenerNoSession otherwise).
	ListenConnString string
	// Logger receives the listener's connection events (lost, restored).
	// Never a token or hash. Default slog.Default().
	Logger *slog.Logger
}

// Cache is an opt-in, in-process cache in front of a Store, for the hot
// path of the middleware (it has the Store methods the middleware uses:
// Create, Validate, Peek, Reauthenticate, Revoke, SignOut). It keeps the
// database's answer for a valid session, keyed by token hash, and answers
// later checks of that session from memory:
//
//   - Expiry stays exact: an entry holds the row's absolute expiry, last
//     activity and idle timeout, and the database clock as of the answer. A
//     hit computes the database's "now" as that clock plus the (monotonic)
//     time elapsed since the query was sent, which can only run ahead of the
//     real database clock, never behind: an expired session always goes
//     back to the database, and the remaining times reported are computed
//     from the expiry times, never copied from an old answer.
//   - Touches keep their rhythm: once a session's last touch is a touch
//     interval old, Validate goes to the database, which touches it.
//   - Scope is checked on every hit; an entry of another app type or tenant
//     goes to the database, which refuses it.
//   - Revocation reaches every instance: migration 024 makes PostgreSQL
//     NOTIFY sessionguard_ended with the token hash whenever a session ends
//     (by any program, the seed's functions and plain SQL included) and
//     [Cache.Run] evicts it; past 1,000 in one transaction, one empty
//     payload instead, and Run forgets everything (migration 030).
//     Revoke and SignOut through this Cache also evict at once.
//   - Correctness never depends on the listener: until Run has connected
//     and while its connection is down or unproven, the cache is empty and
//     every call goes to the database.
//
// Without a running [Cache.Run] a Cache is a pass-through. It is safe for
// concurrent use.
type Cache struct {
	store  *Store
	cfg    CacheConfig
	listen *pgx.ConnConfig // the listener's connection settings

	running atomic.Bool
	// Only the listener goroutine touches these (replica_listen.go):
	// blocksReplica, the listener has blocked the store's read replica for
	// every session; pending, the sessions it has fenced whose revocation's
	// WAL position it has not learned yet.
	blocksReplica bool
	pending       []string
	// healthChannel is the listening connection's own channel, on which
	// sendHealthProbes notifies through the store's pool; "" while there is
	// none. healthHeard is the latest of those notifications it received
	// (proveByPing).
	healthChannel string
	healthHeard   uint64
	// healthCommitted is the latest notification on healthChannel whose
	// transaction committed (sendHealthProbes).
	healthCommitted atomic.Uint64
	counts          *cacheCounts

	// proven is when the listener last proved its connection alive, as
	// nanoseconds on born's monotonic clock; 0 while it holds no proven
	// LISTENing connection. Only the listener goroutine writes it, and it is
	// read without c.mu, so that recording a proof never waits behind the
	// hits that hold c.mu: on a CPU-saturated process that wait reached
	// seconds and ran out the serving window of a healthy connection.
	proven atomic.Int64
	born   time.Time

	mu       sync.Mutex
	entries  map[string]*list.Element // of *cacheEntry
	lru      *list.List               // front = most recently used (coarsely: promoteLocked)
	placed   uint64                   // entries put at the front so far (promoteLocked)
	epoch    uint64                   // bumped when everything is forgotten
	shardGen [256]uint64              // bumped when a hash of that shard is evicted
}

// cacheCounts are a Cache's counters (CacheStats), kept apart from it so
// that its metrics keep counting them once the Cache is dropped and
// collected (weakGroup.release): a counter must never go down.
type cacheCounts struct {
	hits, misses, evictions atomic.Uint64
}

type cacheEntry struct {
	hash      string
	status    sessionguard.Status // a valid status, as the database reported it
	queriedAt time.Time           // local time the query was sent (monotonic)
	placedAt  uint64              // Cache.placed when it last went to the front
}

// NewCache returns a Cache in front of store. Start [Cache.Run] to use it:
// until then every call goes to the database.
func NewCache(store *Store, cfg CacheConfig) (*Cache, error) {
	if store == nil {
		return nil, fmt.Errorf("pgstore: new cache: %w: nil store", ErrInvalidArgument)
	}
	switch {
	case cfg.MaxEntries == 0:
		cfg.MaxEntries = DefaultCacheMaxEntries
	case cfg.MaxEntries < 0:
		return nil, fmt.Errorf("pgstore: new cache: %w: MaxEntries %d is negative", ErrInvalidArgument, cfg.MaxEntries)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"TTL", &cfg.TTL, DefaultCacheTTL},
		{"HealthCheckInterval", &cfg.HealthCheckInterval, DefaultHealthCheckInterval},
		{"MaxReconnectDelay", &cfg.MaxReconnectDelay, DefaultMaxReconnectDelay},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return nil, fmt.Errorf("pgstore: new cache: %w: %s %v is negative", ErrInvalidArgument, d.name, *d.v)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	listen := store.pool.Config().ConnConfig
	if cfg.ListenConnString != "" {
		var err error
		// pgconn's parse errors redact any password.
		if listen, err = pgx.ParseConfig(cfg.ListenConnString); err != nil {
			return nil, fmt.Errorf("pgstore: new cache: %w: ListenConnString: %v", ErrInvalidArgument, err)
		}
	}
	c := &Cache{store: store, cfg: cfg, listen: listen, counts: new(cacheCounts), born: time.Now(), entries: make(map[string]*list.Element), lru: list.New()}
	if m := store.tel.meter(); m != nil {
		if err := m.observeCache(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Store returns the Store behind the cache, for the methods the cache does
// not wrap (listing, admin revokes, cleanup). Sessions they end reach the
// cache through the database's notifications.
func (c *Cache) Store() *Store { return c.store }

// Create creates a session (Store.Create). The first check fills the cache.
func (c *Cache) Create(ctx context.Context, n sessionguard.NewSession) (sessionguard.SessionInfo, error) {
	return c.store.Create(ctx, n)
}

// Validate is Store.Validate, answered from memory when the cache holds the
// session, the listener is connected, the session is within both timeouts
// and the scope, and its last touch is younger than the touch interval.
func (c *Cache) Validate(ctx context.Context, tokenHash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	return c.check(ctx, tokenHash, scope, true)
}

// Peek is Store.Peek, answered from memory under the same conditions as
// Validate except the touch interval: a peek never touches.
func (c *Cache) Peek(ctx context.Context, tokenHash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	return c.check(ctx, tokenHash, scope, false)
}

// Revoke is Store.Revoke; the session leaves this cache at once, and the
// others when the database's notification reaches them.
func (c *Cache) Revoke(ctx context.Context, tokenHash, reason string) (bool, error) {
	ended, err := c.store.Revoke(ctx, tokenHash, reason)
	// Evict even on error: the revoke may have committed.
	c.evict(tokenHash)
	return ended, err
}

// SignOut is Store.SignOut; the session leaves this cache at once, also
// under the token a re-authentication gave it when tokenHash is the one it
// retired, and the others when the database's notification reaches them.
func (c *Cache) SignOut(ctx context.Context, tokenHash string) (bool, error) {
	held, ended, err := c.store.signOut(ctx, tokenHash)
	// Evict even on error: the end may have committed.
	c.evict(tokenHash)
	if held != "" && held != tokenHash {
		c.evict(held)
	}
	return ended, err
}

// Reauthenticate is Store.Reauthenticate; the old token hash leaves this
// cache at once, and the others when the database's notification reaches
// them.
func (c *Cache) Reauthenticate(ctx context.Context, r sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error) {
	info, ok, err := c.store.Reauthenticate(ctx, r)
	// Evict even on error: the rotation may have committed.
	c.evict(r.OldTokenHash)
	return info, ok, err
}

// CacheStats counts the cache's answers.
type CacheStats struct {
	Hits      uint64 // answered from memory
	Misses    uint64 // went to the database
	Evictions uint64 // sessions dropped: ended, expired, too old, least recently used, or flushed
	Entries   int    // sessions held now
}

// Stats reports how many checks were answered from memory so far.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	return CacheStats{Hits: c.counts.hits.Load(), Misses: c.counts.misses.Load(), Evictions: c.counts.evictions.Load(), Entries: n}
}

// Listening reports whether the cache is answering from memory: its
// listener is connected and recently proved alive.
func (c *Cache) Listening() bool {
	return c.serving(time.Now())
}

func (c *Cache) check(ctx context.Context, hash string, scope sessionguard.Scope, touch bool) (sessionguard.Status, error) {
	if st, ok := c.lookup(hash, scope, touch); ok {
		c.counts.hits.Add(1)
		st.AMR = ownAMR(st.AMR) // copied outside the cache's lock
		return st, nil
	}
	c.counts.misses.Add(1)
	epoch, gen, serving := c.generation(hash)
	sent := time.Now()
	var (
		st  sessionguard.Status
		err error
	)
	if touch {
		st, err = c.store.Validate(ctx, hash, scope)
	} else {
		st, err = c.store.Peek(ctx, hash, scope)
	}
	if err != nil {
		return st, err
	}
	switch st.State {
	case sessionguard.StateValid:
		if serving {
			c.fill(hash, st, sent, epoch, gen)
		}
	case sessionguard.StateWrongApp, sessionguard.StateWrongTenant:
		// Alive, just not for this scope: an entry may stay for its own.
	default:
		c.evict(hash)
	}
	return st, nil
}

// lookup answers from memory, or reports false when the database must.
// The answer's AMR is the entry's: the caller copies it (ownAMR).
func (c *Cache) lookup(hash string, scope sessionguard.Scope, touch bool) (sessionguard.Status, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Read under the lock: taken before a wait for it (seconds on a
	// starved process), it would stretch the serving window and the
	// entry's age by that wait.
	now := time.Now()
	if !c.serving(now) {
		return sessionguard.Status{}, false
	}
	el, ok := c.entries[hash]
	if !ok {
		return sessionguard.Status{}, false
	}
	e := el.Value.(*cacheEntry)
	elapsed := now.Sub(e.queriedAt)
	st := e.status
	dbNow := st.CheckedAt.Add(elapsed)
	switch {
	case elapsed >= c.cfg.TTL, !dbNow.Before(st.AbsoluteExpiresAt), !dbNow.Before(st.IdleExpiresAt):
		// Too old to trust, or expired: the database decides and records it.
		c.removeLocked(el)
		return sessionguard.Status{}, false
	case scope.AppType != "" && st.AppType != scope.AppType,
		scope.TenantID != sessionguard.NoTenant && st.TenantID != scope.TenantID:
		return sessionguard.Status{}, false
	case touch && dbNow.Sub(st.LastActivityAt) >= c.store.TouchInterval():
		return sessionguard.Status{}, false
	}
	c.promoteLocked(el, e)
	st.CheckedAt = dbNow
	return st, true
}

// ownAMR is a copy of amr that the caller owns: an entry's AMR is shared
// by every hit, and an application that wrote into a Session's AMR would
// otherwise change what the cache answers for the session. Nil and empty
// stay as they are, without an allocation.
func ownAMR(amr []string) []string {
	if len(amr) == 0 {
		return amr
	}
	return slices.Clone(amr)
}

// generation snapshots what a fill must find unchanged to be trusted: no
// eviction of the hash's shard and no flush since the query was sent.
func (c *Cache) generation(hash string) (epoch, gen uint64, serving bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch, c.shardGen[shardOf(hash)], c.serving(time.Now())
}

// fill stores a valid answer unless an eviction or flush happened since its
// query was sent: then the answer may predate a revocation whose
// notification has already been handled, and must not be kept.
func (c *Cache) fill(hash string, st sessionguard.Status, sent time.Time, epoch, gen uint64) {
	st.AMR = ownAMR(st.AMR) // the caller that asked keeps its own; copied before the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch || c.shardGen[shardOf(hash)] != gen || c.proven.Load() == 0 {
		return
	}
	e := &cacheEntry{hash: hash, status: st, queriedAt: sent, placedAt: c.placed}
	c.placed++
	if el, ok := c.entries[hash]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[hash] = c.lru.PushFront(e)
	for len(c.entries) > c.cfg.MaxEntries {
		c.removeLocked(c.lru.Back())
	}
}

// evict forgets hash, and makes any fill of its shard that is in flight
// drop its answer.
func (c *Cache) evict(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked(hash)
}

// evictLocked is evict with c.mu held.
func (c *Cache) evictLocked(hash string) {
	c.shardGen[shardOf(hash)]++
	if el, ok := c.entries[hash]; ok {
		c.removeLocked(el)
	}
}

// disconnected stops the cache answering and forgets everything: the
// listener no longer holds a proven connection.
func (c *Cache) disconnected() { c.forgetAndProve(0) }

// connected forgets everything (it may have missed notifications) and lets
// the cache answer on the proof, taken at t, of a new connection.
func (c *Cache) connected(t time.Time) { c.forgetAndProve(max(1, int64(t.Sub(c.born)))) }

// forgetAndProve forgets everything and sets c.proven to proven in the same
// critical section, so that no lookup or fill sees one without the other.
func (c *Cache) forgetAndProve(proven int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetLocked()
	c.proven.Store(proven)
}

// forgetLocked drops every entry, and makes every fill in flight drop its
// answer.
func (c *Cache) forgetLocked() {
	c.epoch++
	c.counts.evictions.Add(uint64(len(c.entries)))
	clear(c.entries)
	c.lru.Init()
}

// alive records a further proof, taken at t, that the listening connection
// works. Only the listener goroutine calls it, between connected and
// disconnected.
func (c *Cache) alive(t time.Time) {
	if at := int64(t.Sub(c.born)); at > c.proven.Load() {
		c.proven.Store(at)
	}
}

// promoteLocked records a hit of el: it goes to the front of the LRU list
// unless fewer than MaxEntries/4 entries went there since it did. Such an
// entry is near the front anyway, and leaving it saves a hit the writes of
// four list elements (a cache miss each, under c.mu, on a busy server). An
// entry is at most as far from the front as the number of entries put there
// since it was, and is dropped only from the back, at MaxEntries: so no
// sooner than 3/4 MaxEntries placements after its last use.
func (c *Cache) promoteLocked(el *list.Element, e *cacheEntry) {
	if c.placed-e.placedAt < uint64(c.cfg.MaxEntries/4) {
		return
	}
	e.placedAt = c.placed
	c.placed++
	c.lru.MoveToFront(el)
}

// provenAt is when the listener last proved its connection alive.
func (c *Cache) provenAt() time.Time { return c.born.Add(time.Duration(c.proven.Load())) }

// serving reports whether the cache may answer from memory at now: the
// listener's last proof is younger than three health-check intervals.
func (c *Cache) serving(now time.Time) bool {
	p := c.proven.Load()
	return p != 0 && int64(now.Sub(c.born))-p < int64(3*c.cfg.HealthCheckInterval)
}

func (c *Cache) removeLocked(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).hash)
	c.lru.Remove(el)
	c.counts.evictions.Add(1)
}

// shardOf picks a hash's shard from its first two hex digits. Any string
// works; a malformed one just lands somewhere.
func shardOf(hash string) uint8 {
	if len(hash) < 2 {
		return 0
	}
	return unhex(hash[0])<<4 | unhex(hash[1])
}

func unhex(c byte) uint8 {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 0
}
