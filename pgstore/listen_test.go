package pgstore_test

import (
	"context"
	"log/slog"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestListenerUnderLoad: on a CPU-saturated process (a spinning goroutine
// per P, 256 goroutines checking sessions through the cache, misses among
// them, and sessions revoked all along so that notifications keep the
// listener evicting), a listener on a healthy connection to a healthy
// PostgreSQL never gives the connection up (each reconnect empties the
// cache) and the cache never stops answering. Each would send every check
// to PostgreSQL exactly when the cache matters most. Before the fix the
// listener waited for the cache's lock behind the hits to record each proof
// and each eviction (seconds, measured), and then waited a whole interval
// more before its next ping, which ran out the serving window. Later, with
// a ping every interval however busy the channel, the ping's answer brought
// in every notification queued since (up to 42), each evicted under a lock
// of its own (about 80 ms of waiting each here): the ping's proof waited up
// to 2.4 s for them (2 runs of 8 failed beside another test binary) until
// the listener evicted a batch under one lock.
//
// A machine loaded from outside (other test binaries on two shared cores)
// can starve every goroutine of this process for seconds, the listener's
// too, and then the cache rightly stops answering. A control goroutine
// therefore does what the listener's proof does (wake from a timer, one
// round trip on a connection of its own) and records its longest stall.
// The cache stopping while no control stall reached one health-check
// interval fails the test at once (the listener's proofs lapse only after
// two intervals of delay); a round with such a stall proves nothing and is
// run again, up to three rounds, never passed.
func TestListenerUnderLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	var log syncBuffer
	c := newCache(t, f.store, pgstore.CacheConfig{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	runCache(t, c)
	cached := make([]string, 64)
	for i := range cached {
		cached[i], _ = f.create(t, nil)
		mustValidate(t, c, cached[i], sessionguard.Scope{})
	}
	const rounds = 3
	for round := 1; ; round++ {
		eventually(t, "the listener connects", c.Listening)
		logged := len(log.String())
		r := loadTheListener(t, f, c, cached)
		disconnects := strings.Count(log.String()[logged:], "disconnected")
		t.Logf("round %d: %d checks (%d failed), %d revocations, %d samples, cache %+v, longest control stall %v",
			round, r.checks, r.failed, r.revoked, r.samples, c.Stats(), r.worstStall)
		if r.failed != 0 {
			t.Fatalf("%d checks failed", r.failed)
		}
		if disconnects == 0 && r.notServing == 0 {
			return
		}
		const interval = pgstore.DefaultHealthCheckInterval
		if r.worstStall < interval {
			t.Fatalf("under load, with no round trip of this process stalled for an interval (longest %v), the listener gave a healthy connection up %d times and the cache stopped answering in %d of %d samples:\n%s",
				r.worstStall, disconnects, r.notServing, r.samples, log.String()[logged:])
		}
		if round == rounds {
			t.Fatalf("in each of %d rounds the machine stalled this process's round trips for an interval or more (last: %v), and the cache stopped answering (%d disconnects, %d of %d samples): too loaded to judge",
				rounds, r.worstStall, disconnects, r.notServing, r.samples)
		}
		t.Logf("round %d proves nothing: a control round trip stalled for %v; running it again", round, r.worstStall)
	}
}

// listenerLoad is one round of TestListenerUnderLoad.
type listenerLoad struct {
	checks, failed, revoked int64
	samples, notServing     int
	worstStall              time.Duration // the control's longest wake-up plus round trip
}

// loadTheListener saturates the process for six health-check intervals and
// samples whether c answers from memory meanwhile.
func loadTheListener(t *testing.T, f fixture, c *pgstore.Cache, cached []string) listenerLoad {
	t.Helper()
	unknown := newHash(t)
	control, err := pgx.ConnectConfig(t.Context(), f.pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close(context.Background())

	const load = 6 * pgstore.DefaultHealthCheckInterval
	ctx, cancel := context.WithTimeout(t.Context(), load)
	defer cancel()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil {
			}
		})
	}
	var checks, failed atomic.Int64
	for i := range 256 {
		hash := cached[i%len(cached)]
		if i%8 == 0 {
			hash = unknown // a miss: the database answers
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := c.Validate(ctx, hash, sessionguard.Scope{}); err != nil && ctx.Err() == nil {
					failed.Add(1)
				}
				checks.Add(1)
			}
		})
	}
	var revoked atomic.Int64
	wg.Go(func() {
		for ctx.Err() == nil {
			h, _ := f.create(t, nil)
			if _, err := f.store.Revoke(ctx, h, sessionguard.ReasonLogout); err == nil {
				revoked.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	var worstStall time.Duration
	wg.Go(func() {
		const every = 100 * time.Millisecond
		for ctx.Err() == nil {
			due := time.Now().Add(every)
			time.Sleep(every)
			if err := control.Ping(ctx); err != nil {
				continue // the round is over
			}
			worstStall = max(worstStall, time.Since(due))
		}
	})
	var r listenerLoad
	for ctx.Err() == nil {
		r.samples++
		if !c.Listening() {
			r.notServing++
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	r.checks, r.failed, r.revoked, r.worstStall = checks.Load(), failed.Load(), revoked.Load(), worstStall
	return r
}

// TestListenerConnectsWhileThePoolIsBusy: a new connection's probe goes
// through the Store's pool, which under load may keep it waiting. The
// cache must then go on answering once it answers: the listener's next
// proof is due an interval after its last one (taken before the probe), not
// an interval after the probe returned, when the serving window has already
// run out.
func TestListenerConnectsWhileThePoolIsBusy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	const interval = time.Second
	var log syncBuffer
	c := newCache(t, f.store, pgstore.CacheConfig{HealthCheckInterval: interval, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	var held []*pgxpool.Conn
	for range f.pool.Config().MaxConns {
		conn, err := f.pool.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	time.AfterFunc(5*interval/2, func() {
		for _, conn := range held {
			conn.Release()
		}
	})
	runCache(t, c)
	var samples, notServing int
	for end := time.Now().Add(3 * interval); time.Now().Before(end); time.Sleep(time.Millisecond) {
		samples++
		if !c.Listening() {
			notServing++
		}
	}
	if notServing != 0 || strings.Contains(log.String(), "disconnected") {
		t.Fatalf("after connecting through a busy pool, the cache stopped answering in %d of %d samples over 3 intervals; log:\n%s",
			notServing, samples, log.String())
	}
}

// TestListenerSetupStalled: a connection that goes silent while the
// listener sets it up (here: as its LISTEN is sent) is given up within the
// setup's bound, as an established one is by the ping, rather than holding
// the listener, and the cache off, until TCP gives up; the listener then
// reconnects and the cache answers again.
func TestListenerSetupStalled(t *testing.T) {
	t.Parallel()
	srv, pool := pgtest.NewIsolatedServer(t)
	store, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, srv)
	on := "LISTEN " + pgstore.NotifyChannel
	proxy.stallOn.Store(&on)
	var log syncBuffer
	c := newCache(t, store, pgstore.CacheConfig{
		ListenConnString:    proxy.connString("postgres"),
		HealthCheckInterval: 200 * time.Millisecond,
		MaxReconnectDelay:   100 * time.Millisecond,
		Logger:              slog.New(slog.NewTextHandler(&log, nil)),
	})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	eventually(t, "the listener gives the stalled connection up", func() bool { return strings.Contains(log.String(), "disconnected") })
	proxy.stalled.Store(false)
	eventually(t, "the listener reconnects", c.Listening)
}

// TestListenerProbeOnASilentConnection: a connection that goes silent
// while the listener waits for its probe is a connection error, retried,
// not ErrListenerNoSession, which tells the operator to change the
// configuration; a listener that does not hear the pool at all still gets
// ErrListenerNoSession (TestCacheListenerOnAnotherDatabase).
func TestListenerProbeOnASilentConnection(t *testing.T) {
	t.Parallel()
	srv, pool := pgtest.NewIsolatedServer(t)
	store, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, srv)
	on := "LISTEN sessionguard_probe_"
	proxy.deafOn.Store(&on)
	var log syncBuffer
	c := newCache(t, store, pgstore.CacheConfig{
		ListenConnString:    proxy.connString("postgres"),
		HealthCheckInterval: 200 * time.Millisecond,
		MaxReconnectDelay:   100 * time.Millisecond,
		Logger:              slog.New(slog.NewTextHandler(&log, nil)),
	})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	eventually(t, "the first attempt ends", func() bool { return strings.Contains(log.String(), "retry_in") })
	if got := log.String(); strings.Contains(got, pgstore.ErrListenerNoSession.Error()) || !strings.Contains(got, "disconnected") {
		t.Fatalf("a connection gone silent during the probe was reported as:\n%s\nwant a disconnection, not ErrListenerNoSession", got)
	}
	proxy.deaf.Store(false)
	eventually(t, "the listener reconnects", c.Listening)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestListenerBacksOffFromShortConnections: a listener whose connections
// die as soon as they are up (a server or proxy that keeps dropping them)
// waits longer before each new attempt, up to MaxReconnectDelay, instead of
// starting the backoff again at every connection and reconnecting, with a
// probe through the pool, every 100ms for ever. After a connection that
// lasted MaxReconnectDelay, the backoff starts again.
func TestListenerBacksOffFromShortConnections(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	// Any cap above the fifth wait (1.6 s) gives the same five waits; a
	// connection that lives as long as the cap restarts the backoff, so the
	// cap is what a drop may take on a loaded machine (from the listener's
	// connect to its noticing the drop) before the test misreads it.
	const maxDelay = 6 * time.Second
	var log syncBuffer
	c := newCache(t, f.store, pgstore.CacheConfig{MaxReconnectDelay: maxDelay, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	runCache(t, c)
	retries := regexp.MustCompile(`disconnected.* retry_in=(\S+)`)
	drop := func(t *testing.T) time.Duration {
		t.Helper()
		before := len(retries.FindAllStringSubmatch(log.String(), -1))
		eventually(t, "the listener connects", c.Listening)
		if _, err := f.pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, pgstore.ListenerApplicationName); err != nil {
			t.Fatal(err)
		}
		var m [][]string
		eventually(t, "the drop is logged", func() bool {
			m = retries.FindAllStringSubmatch(log.String(), -1)
			return len(m) > before
		})
		d, err := time.ParseDuration(m[before][1])
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	var got []time.Duration
	for range 5 {
		got = append(got, drop(t))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Fatalf("waits after connections dropped at once: %v; want %v", got, want)
	}
	eventually(t, "the listener connects", c.Listening)
	time.Sleep(maxDelay)
	if d := drop(t); d != 100*time.Millisecond {
		t.Fatalf("wait after a connection that lasted MaxReconnectDelay: %v; want 100ms", d)
	}
}
