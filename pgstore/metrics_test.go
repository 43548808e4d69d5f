package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
)

func op(name, result string) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("operation", name), attribute.String("result", result)}
}

// Each call is timed under its operation and outcome, and each session ended
// on purpose is counted under its reason.
func TestStoreMetrics(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet})
	ctx := context.Background()
	h1, _ := f.create(t, nil)
	f.create(t, nil)
	f.create(t, nil)
	mustValidate(t, f.store, h1, sessionguard.Scope{})
	if _, err := f.store.Peek(ctx, h1, sessionguard.Scope{}); err != nil {
		t.Fatal(err)
	}
	mustRevoke(t, f, h1, sessionguard.ReasonLogout)
	if st := mustValidate(t, f.store, h1, sessionguard.Scope{}); st.State != sessionguard.StateRevoked {
		t.Fatalf("after Revoke: %q", st.State)
	}
	if n, err := f.store.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange); err != nil || n != 2 {
		t.Fatalf("RevokeAll = %d, %v", n, err)
	}
	if n, err := f.store.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange); err != nil || n != 0 {
		t.Fatalf("second RevokeAll = %d, %v", n, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.store.Validate(cancelled, h1, sessionguard.Scope{}); err == nil {
		t.Fatal("Validate with a cancelled context succeeded")
	}

	s := m.Collect(t)
	for _, tt := range []struct {
		name   string
		metric string
		attrs  []attribute.KeyValue
		want   int64
	}{
		{"creates timed", "sessionguard.store.duration", op("create", "ok"), 3},
		{"validations timed", "sessionguard.store.duration", op("validate", "ok"), 2},
		{"a failed validation timed as an error", "sessionguard.store.duration", op("validate", "error"), 1},
		{"peek timed", "sessionguard.store.duration", op("peek", "ok"), 1},
		{"revoke timed", "sessionguard.store.duration", op("revoke", "ok"), 1},
		{"revoke all timed, also when it ended nothing", "sessionguard.store.duration", op("revoke_all", "ok"), 2},
		{"logout counted", "sessionguard.revocations", []attribute.KeyValue{attribute.String("reason", "logout")}, 1},
		{"each session a password change ended counted", "sessionguard.revocations", []attribute.KeyValue{attribute.String("reason", "password_change")}, 2},
		{"a fresh session is not touched (default interval)", "sessionguard.touches", nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Value(tt.metric, tt.attrs...); got != tt.want {
				t.Errorf("%s%v = %d, want %d", tt.metric, tt.attrs, got, tt.want)
			}
		})
	}
}

// sessionguard.touches counts the writes of last_activity_at, and only those.
func TestTouchesCounted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		interval time.Duration
		age      time.Duration // of the last touch
		peek     bool
		want     int64
	}{
		{"fresh session, default interval: no write", 0, 0, false, 0},
		{"last touch an interval old: one write", 0, 61 * time.Second, false, 1},
		{"interval 0 writes on every Validate", -1, 0, false, 1},
		{"peek never writes", 0, 61 * time.Second, true, 0},
		{"an idle-expired session is ended, not touched", 0, 5 * time.Hour, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := metrictest.New(t)
			f := newFixture(t, pgstore.Config{MeterProvider: m.Provider, TouchInterval: tt.interval, Logger: quiet})
			h, _ := f.create(t, nil)
			f.age(t, h, tt.age, 0)
			before := f.row(t, h).LastActivity
			var err error
			if tt.peek {
				_, err = f.store.Peek(context.Background(), h, sessionguard.Scope{})
			} else {
				_, err = f.store.Validate(context.Background(), h, sessionguard.Scope{})
			}
			if err != nil {
				t.Fatal(err)
			}
			wrote := !f.row(t, h).LastActivity.Equal(before)
			if got := m.Collect(t).Value("sessionguard.touches"); got != tt.want || wrote != (tt.want == 1) {
				t.Errorf("touches = %d (the row was written: %v), want %d", got, wrote, tt.want)
			}
		})
	}
}

// The cache's counters are its Stats, and listening follows its listener.
func TestCacheMetrics(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet})
	c := newCache(t, f.store, pgstore.CacheConfig{MaxEntries: 1})
	if got := m.Collect(t).Value("sessionguard.cache.listening"); got != 0 {
		t.Fatalf("listening before Run = %d, want 0", got)
	}
	runCache(t, c)
	h1, _ := f.create(t, nil)
	h2, _ := f.create(t, nil)
	mustValidate(t, c, h1, sessionguard.Scope{}) // miss, kept
	if _, wasHit := hit(t, c, h1); !wasHit {
		t.Fatal("second check of h1 missed")
	}
	mustValidate(t, c, h2, sessionguard.Scope{}) // miss, kept; h1 evicted (bound 1)
	if ended, err := c.Revoke(context.Background(), h2, sessionguard.ReasonLogout); err != nil || !ended {
		t.Fatalf("Revoke = %v, %v", ended, err)
	}

	s := m.Collect(t)
	st := c.Stats()
	for _, tt := range []struct {
		metric string
		want   int64
	}{
		{"sessionguard.cache.hits", 1},
		{"sessionguard.cache.misses", 2},
		{"sessionguard.cache.evictions", 2}, // h1 by the bound, h2 by the revocation
		{"sessionguard.cache.entries", 0},
		{"sessionguard.cache.listening", 1},
	} {
		if got := s.Value(tt.metric); got != tt.want {
			t.Errorf("%s = %d, want %d (Stats %+v)", tt.metric, got, tt.want, st)
		}
	}
	if st.Hits != 1 || st.Misses != 2 || st.Evictions != 2 || st.Entries != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// A run is counted by its result, with what it ended and purged.
func TestCleanerMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	prepareCleanupCases(t, f, 1)
	c := newCleaner(t, f.pool, pgstore.CleanerConfig{MeterProvider: m.Provider})
	if res, err := c.RunOnce(ctx); err != nil || !res.Ran {
		t.Fatalf("RunOnce = %v, %v", res, err)
	}

	holder, err := f.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	release := sync.OnceFunc(holder.Release)
	defer release()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", pgstore.DefaultCleanupLockKey); err != nil {
		t.Fatal(err)
	}
	if res, err := c.RunOnce(ctx); err != nil || res.Ran {
		t.Fatalf("RunOnce under a held lock = %v, %v", res, err)
	}
	release()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.RunOnce(cancelled); err == nil {
		t.Fatal("RunOnce with a cancelled context succeeded")
	}
	failing := newCleaner(t, closedPool(t, f.pool), pgstore.CleanerConfig{MeterProvider: m.Provider})
	if _, err := failing.RunOnce(ctx); err == nil {
		t.Fatal("RunOnce on a closed pool succeeded")
	}

	s := m.Collect(t)
	reason := func(r string) []attribute.KeyValue { return []attribute.KeyValue{attribute.String("reason", r)} }
	result := func(r string) []attribute.KeyValue { return []attribute.KeyValue{attribute.String("result", r)} }
	for _, tt := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   int64
	}{
		{"sessionguard.cleanup.runs", result("done"), 1},
		{"sessionguard.cleanup.runs", result("skipped"), 1},
		{"sessionguard.cleanup.runs", result("canceled"), 1},
		{"sessionguard.cleanup.runs", result("error"), 1},
		{"sessionguard.cleanup.duration", nil, 1}, // only the run that worked
		{"sessionguard.cleanup.ended", reason("idle_timeout"), 2},
		{"sessionguard.cleanup.ended", reason("absolute_timeout"), 2},
		{"sessionguard.cleanup.purged", nil, 1},
	} {
		if got := s.Value(tt.metric, tt.attrs...); got != tt.want {
			t.Errorf("%s%v = %d, want %d", tt.metric, tt.attrs, got, tt.want)
		}
	}
}

// A Cleaner that has never succeeded must still export its "done" count, as
// 0: README.md's SessionguardCleanupBacklog rule reads
// increase(sessionguard_cleanup_runs_total{result="done"}[1h]) == 0, and a
// series that does not exist compares to nothing, so a Cleaner failing
// every run since the process started (the database refusing its role, a
// table it may not write) would never page. Every result is a series from
// the start, as Prometheus asks of labels known in advance.
func TestCleanerExportsEveryResultFromTheStart(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	c := newCleaner(t, closedPool(t, f.pool), pgstore.CleanerConfig{MeterProvider: m.Provider})
	if _, err := c.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce on a closed pool succeeded")
	}
	scrape := m.Exposition(t)
	for _, tt := range []struct {
		result string
		want   float64
	}{{"done", 0}, {"skipped", 0}, {"canceled", 0}, {"error", 1}} {
		got, ok := metrictest.Sample(scrape, "sessionguard_cleanup_runs_total", "result", tt.result)
		if !ok || got != tt.want {
			t.Errorf("sessionguard_cleanup_runs_total{result=%q} = %v (exported: %v), want %v", tt.result, got, ok, tt.want)
		}
	}
}

// A Cleaner stopped at shutdown (Run's context canceled, before a run or in
// the middle of one) is no failure: its run counts as "canceled", never as
// "error", and nothing is logged at Error level. Counted as an error, every
// deploy would look like a failing cleanup to an alert on errors.
func TestCleanerStoppedAtShutdownIsNoError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	for _, tt := range []struct {
		name string
		stop func(c *pgstore.Cleaner, cancel context.CancelFunc)
	}{
		{"before its first run", func(_ *pgstore.Cleaner, cancel context.CancelFunc) { cancel() }},
		{"in the middle of a batch", func(c *pgstore.Cleaner, cancel context.CancelFunc) { pgstore.SetInTurn(c, cancel) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := metrictest.New(t)
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			var logged bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError}))
			c := newCleaner(t, f.pool, pgstore.CleanerConfig{Interval: time.Hour, Logger: log, MeterProvider: m.Provider, TracerProvider: tp})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.stop(c, cancel)
			if err := c.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want context.Canceled", err)
			}
			s := m.Collect(t)
			for result, want := range map[string]int64{"canceled": 1, "error": 0, "done": 0} {
				if got := s.Value("sessionguard.cleanup.runs", attribute.String("result", result)); got != want {
					t.Errorf("sessionguard.cleanup.runs{result=%q} = %d, want %d", result, got, want)
				}
			}
			if logged.Len() != 0 {
				t.Errorf("logged at Error level: %s", logged.String())
			}
			// Its span says it was canceled, and is no error either.
			spans := exp.GetSpans()
			if len(spans) != 1 || spans[0].Name != "pgstore.Cleaner.RunOnce" {
				t.Fatalf("spans %v, want one pgstore.Cleaner.RunOnce", spans)
			}
			run := spans[0]
			if run.Status.Code == codes.Error || len(run.Events) != 0 {
				t.Errorf("the canceled run's span has status %v %q and events %v; want no error", run.Status.Code, run.Status.Description, run.Events)
			}
			if !slices.Contains(run.Attributes, attribute.String("sessionguard.cleanup.result", "canceled")) {
				t.Errorf("the canceled run's span has attributes %v, want sessionguard.cleanup.result canceled", run.Attributes)
			}
		})
	}
}

// closedPool is a pool on p's database that has been closed: every call
// through it fails at once, as a database that refuses the app's role does.
func closedPool(t *testing.T, p *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	closed, err := pgxpool.NewWithConfig(context.Background(), p.Config())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	return closed
}

// A Store with a ReadPool exports ReplicaStats, as a Cache exports its
// Stats: without them an on-call engineer cannot tell a replica that lags,
// fails or was promoted (every check back on the primary) from a healthy
// one. Here the ReadPool is a second pool on the primary, a server not in
// recovery, so every check falls back; a closed one fails every query.
func TestReplicaMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	hash, _ := f.create(t, nil)
	read, err := pgxpool.NewWithConfig(ctx, f.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(read.Close)
	// ReplicaTimeout a minute: the read pool's first read dials, which on a
	// loaded machine can outlast the default 500 ms and count an error.
	promoted, err := pgstore.New(f.pool, pgstore.Config{ReadPool: read, ReplicaTimeout: time.Minute, MeterProvider: m.Provider, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := promoted.Peek(ctx, hash, sessionguard.Scope{}); err != nil {
			t.Fatal(err)
		}
	}
	st := promoted.ReplicaStats()
	if st.Fallbacks != 3 || st.Served != 0 {
		t.Fatalf("ReplicaStats = %+v; want 3 fallbacks", st)
	}
	scrape := m.Exposition(t)
	for _, tt := range []struct {
		name string
		want uint64
	}{
		{"sessionguard_replica_served_total", st.Served},
		{"sessionguard_replica_fallbacks_total", st.Fallbacks},
		{"sessionguard_replica_errors_total", st.Errors},
	} {
		if got, ok := metrictest.Sample(scrape, tt.name); !ok || got != float64(tt.want) {
			t.Errorf("%s = %v (exported: %v), want %d (ReplicaStats)", tt.name, got, ok, tt.want)
		}
	}
}

// A Store with a ReadPool that the application drops takes nothing of its
// replica counters with it: what it counted after the last collection is
// in the next one. Read from the Store, only the counts of the last
// collection before it was collected were kept, and the counters went
// short of what had happened.
func TestDroppedStoreKeepsItsReplicaCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	hash, _ := f.create(t, nil)
	// Not in recovery: every check falls back to the primary.
	read, err := pgxpool.NewWithConfig(ctx, f.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(read.Close)
	collected := make(chan struct{})
	func() {
		s, err := pgstore.New(f.pool, pgstore.Config{ReadPool: read, ReplicaTimeout: time.Minute, MeterProvider: m.Provider, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(s, func(collected chan struct{}) { close(collected) }, collected)
		peek := func() {
			if _, err := s.Peek(ctx, hash, sessionguard.Scope{}); err != nil {
				t.Fatal(err)
			}
		}
		peek()
		if got := m.Collect(t).Value("sessionguard.replica.fallbacks"); got != 1 {
			t.Fatalf("replica fallbacks = %d after one check, want 1", got)
		}
		peek()
		peek()
		if st := s.ReplicaStats(); st.Fallbacks != 3 {
			t.Fatalf("ReplicaStats = %+v; want 3 fallbacks", st)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		runtime.GC()
		select {
		case <-collected:
		default:
			if time.Now().After(deadline) {
				t.Fatal("a Store that nothing of the application references was not collected in 10 s")
			}
			continue
		}
		break
	}
	if got := m.Collect(t).Value("sessionguard.replica.fallbacks"); got != 3 {
		t.Errorf("replica fallbacks = %d after the Store was collected, want 3, every check it made", got)
	}
}

// Two Caches reporting through one MeterProvider (two Stores, two databases,
// say) are one sessionguard.cache.listening series, which must be 0 while
// either listener is down: README.md's SessionguardCacheListenerDown reads
// it. The SDK keeps the last of two gauge observations, so the Cache made
// last hid the other's outage. Their counters add up.
func TestCacheListeningCoversEveryCache(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	// down's listener runs but never connects: nothing listens there.
	retrying := make(chan struct{})
	down := newCache(t, newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}).store,
		pgstore.CacheConfig{ListenConnString: "postgres://sessionguard@127.0.0.1:1/nothing?connect_timeout=1",
			Logger: slog.New(onRecord{sync.OnceFunc(func() { close(retrying) })})})
	startCache(t, down)
	<-retrying // its Run has failed to connect once, and retries
	f := newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet})
	up := newCache(t, f.store, pgstore.CacheConfig{})
	runCache(t, up)
	h, _ := f.create(t, nil)
	mustValidate(t, up, h, sessionguard.Scope{})
	if !up.Listening() || down.Listening() {
		t.Fatalf("Listening: up %v, down %v", up.Listening(), down.Listening())
	}
	s := m.Collect(t)
	if got := s.Value("sessionguard.cache.listening"); got != 0 {
		t.Errorf("sessionguard.cache.listening = %d with one of two listeners down, want 0", got)
	}
	if got := s.Value("sessionguard.cache.misses"); got != 1 {
		t.Errorf("sessionguard.cache.misses = %d, want 1 (both caches' together)", got)
	}
}

// A Cache whose Run has returned (stopped on purpose: replaced by another,
// its app part shut down) has no listener to be down: the Caches still
// running decide sessionguard.cache.listening. Counted, the stopped one kept
// the series at 0 for the rest of the process, and
// SessionguardCacheListenerDown fired for good over Caches that all listen.
// With no Cache running, nothing listens: 0.
func TestCacheListeningIgnoresStoppedCaches(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	stopped := newCache(t, newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}).store, pgstore.CacheConfig{})
	stop := startCache(t, stopped)
	eventually(t, "the first listener connects", stopped.Listening)
	stop()
	if got := m.Collect(t).Value("sessionguard.cache.listening"); got != 0 {
		t.Errorf("sessionguard.cache.listening = %d with no Cache running, want 0", got)
	}
	current := newCache(t, newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}).store, pgstore.CacheConfig{})
	runCache(t, current)
	if got := m.Collect(t).Value("sessionguard.cache.listening"); got != 1 {
		t.Errorf("sessionguard.cache.listening = %d with the running Cache listening and the other stopped, want 1", got)
	}
}

// TestDroppedCacheIsCollected: a Cache the application stops and drops
// (replaced by another, its part of the app shut down) is collected, and up
// to MaxEntries sessions with it, though it reported to a MeterProvider that
// lives on. The package's registry of the Caches reporting to each Meter
// held every one for the rest of the process. Its counts stay in the
// counters, which must never go down; with no Cache left, nothing listens.
func TestDroppedCacheIsCollected(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet})
	collected := make(chan struct{})
	func() {
		c := newCache(t, f.store, pgstore.CacheConfig{})
		runtime.AddCleanup(c, func(collected chan struct{}) { close(collected) }, collected)
		stop := startCache(t, c)
		eventually(t, "the listener connects", c.Listening)
		h, _ := f.create(t, nil)
		mustValidate(t, c, h, sessionguard.Scope{}) // a miss, kept
		if _, wasHit := hit(t, c, h); !wasHit {
			t.Fatal("the second check missed")
		}
		stop()
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		runtime.GC()
		select {
		case <-collected:
		default:
			if time.Now().After(deadline) {
				t.Fatal("a stopped Cache that nothing of the application references was not collected in 10 s")
			}
			continue
		}
		break
	}
	s := m.Collect(t)
	for _, tt := range []struct {
		metric string
		want   int64
	}{
		{"sessionguard.cache.hits", 1},
		{"sessionguard.cache.misses", 1},
		{"sessionguard.cache.entries", 0},
		{"sessionguard.cache.listening", 0},
	} {
		if got := s.Value(tt.metric); got != tt.want {
			t.Errorf("%s = %d after the Cache was collected, want %d", tt.metric, got, tt.want)
		}
	}
}

// startCache runs c.Run until the returned stop is called (or the test
// ends), without waiting for its listener to connect; stop waits for Run to
// return.
func startCache(t *testing.T, c *pgstore.Cache) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
	t.Cleanup(stop)
	return stop
}

// onRecord is a slog.Handler that calls f for every record.
type onRecord struct{ f func() }

func (h onRecord) Enabled(context.Context, slog.Level) bool  { return true }
func (h onRecord) Handle(context.Context, slog.Record) error { h.f(); return nil }
func (h onRecord) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h onRecord) WithGroup(string) slog.Handler             { return h }

// A revocation that ended its session but returned ErrReplicaBehind (the
// replica had not replayed it within ReplayWait) is timed under result
// "replica_behind", not "error": an on-call engineer reading revoke errors
// must not take a lagging replica for sign-outs that fail.
func TestReplicaBehindIsNotAnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	read, err := pgxpool.NewWithConfig(ctx, f.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	read.Close() // the replica never answers how far it has replayed
	s, err := pgstore.New(f.pool, pgstore.Config{ReadPool: read, ReplayWait: 50 * time.Millisecond, MeterProvider: m.Provider, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := f.create(t, nil)
	if ended, err := s.Revoke(ctx, hash, sessionguard.ReasonLogout); !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("Revoke = %v, %v; want true, ErrReplicaBehind", ended, err)
	}
	got := m.Collect(t)
	for _, tt := range []struct {
		result string
		want   int64
	}{{"replica_behind", 1}, {"error", 0}, {"ok", 0}} {
		if n := got.Value("sessionguard.store.duration", op("revoke", tt.result)...); n != tt.want {
			t.Errorf("revoke timed under %q: %d, want %d", tt.result, n, tt.want)
		}
	}
}

// A slow database and an exhausted pool both make checks slow, and the
// store's latency counts the wait for a connection too. The pool's numbers
// tell them apart: with every connection taken a check waits for one (and
// a wait its context ends first counts as canceled, timed nowhere else); on
// a slow database the connection is there and the time goes on the query.
func TestPoolMetricsTellAnExhaustedPoolFromASlowDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	hash, _ := f.create(t, nil)
	const held = 200 * time.Millisecond
	for _, tt := range []struct {
		name string
		// slow makes the next check slow, for held, with pool's one
		// connection; it returns the check's context.
		slow                      func(t *testing.T, pool *pgxpool.Pool) context.Context
		checkFails                bool
		minWait, maxWait          float64 // sessionguard_pool_acquire_wait_seconds_total
		emptyAcquires, canceledAq float64
	}{
		{"an exhausted pool", func(t *testing.T, pool *pgxpool.Pool) context.Context {
			c, err := pool.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(held, c.Release)
			return context.Background()
		}, false, held.Seconds(), 60, 1, 0},
		{"a pool exhausted past the check's deadline", func(t *testing.T, pool *pgxpool.Pool) context.Context {
			c, err := pool.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Release)
			ctx, cancel := context.WithTimeout(context.Background(), held)
			t.Cleanup(cancel)
			return ctx
		}, true, 0, 0, 0, 1},
		{"a slow database", func(t *testing.T, _ *pgxpool.Pool) context.Context {
			tx, err := f.pool.Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(context.Background(), "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(held, func() { _ = tx.Rollback(context.Background()) })
			return context.Background()
		}, false, 0, 0.05, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := metrictest.New(t)
			cfg := f.pool.Config()
			cfg.MaxConns, cfg.MinConns = 1, 0
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			store, err := pgstore.New(pool, pgstore.Config{MeterProvider: m.Provider, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			// One connection, idle. Dialling it was an acquire that waited:
			// the numbers below are what the check added.
			if err := pool.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			sample := func(scrape, name string) float64 {
				t.Helper()
				v, ok := metrictest.Sample(scrape, name, "pool", "primary")
				if !ok {
					t.Fatalf("%s{pool=\"primary\"} not exported", name)
				}
				return v
			}
			before := m.Exposition(t)
			ctx := tt.slow(t, pool)
			start := time.Now()
			_, err = store.Validate(ctx, hash, sessionguard.Scope{})
			if took := time.Since(start); (err != nil) != tt.checkFails || took < held {
				t.Fatalf("Validate = %v after %v; want failed %v after at least %v", err, took, tt.checkFails, held)
			}
			after := m.Exposition(t)
			added := func(name string) float64 { return sample(after, name) - sample(before, name) }
			if wait := added("sessionguard_pool_acquire_wait_seconds_total"); wait < tt.minWait || wait > tt.maxWait {
				t.Errorf("acquire wait %v s, want %v to %v", wait, tt.minWait, tt.maxWait)
			}
			if n := added("sessionguard_pool_empty_acquires_total"); n != tt.emptyAcquires {
				t.Errorf("empty acquires %v, want %v", n, tt.emptyAcquires)
			}
			if n := added("sessionguard_pool_canceled_acquires_total"); n != tt.canceledAq {
				t.Errorf("canceled acquires %v, want %v", n, tt.canceledAq)
			}
			if n := sample(after, "sessionguard_pool_max_connections"); n != 1 {
				t.Errorf("max connections %v, want 1", n)
			}
		})
	}
}

// The pool instruments report each pool once per MeterProvider, however
// many Stores work on it (one per app type, say): the SDK adds up what
// every callback observes, and a pool reported twice would read as twice
// its connections. A Store's ReadPool reports as pool="replica".
func TestPoolMetricsCountEachPoolOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet})
	read, err := pgxpool.NewWithConfig(ctx, f.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(read.Close)
	for range 2 {
		if _, err := pgstore.New(f.pool, pgstore.Config{ReadPool: read, MeterProvider: m.Provider, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s := m.Collect(t)
	kv := attribute.String
	for _, tt := range []struct {
		metric string
		attrs  []attribute.KeyValue
		want   int64
	}{
		{"sessionguard.pool.max_connections", poolAttrs(f.pool, "primary"), int64(f.pool.Stat().MaxConns())},
		{"sessionguard.pool.max_connections", poolAttrs(read, "replica"), int64(read.Stat().MaxConns())},
		{"sessionguard.pool.connections", append(poolAttrs(f.pool, "primary"), kv("state", "idle")), int64(f.pool.Stat().IdleConns())},
		{"sessionguard.pool.acquires", poolAttrs(f.pool, "primary"), f.pool.Stat().AcquireCount()},
	} {
		if got := s.Value(tt.metric, tt.attrs...); got != tt.want {
			t.Errorf("%s%v = %d, want %d (the pool's Stat)", tt.metric, tt.attrs, got, tt.want)
		}
	}
}

// TestDroppedPoolIsCollected: an application that drops a Store and its
// pools (closed and replaced, a tenant's database removed) gets the pools
// collected, and their MaxConns no longer count in
// sessionguard.pool.max_connections: held for the rest of the process (by
// the pool metrics' callback, and by the replica metrics' callback through
// the Store), each pool ever made added its MaxConns there, and the pool in
// use, exhausted, never showed its acquired connections at max_connections.
// Their counts stay counted: a counter never goes down.
func TestDroppedPoolIsCollected(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	newPool := func(t *testing.T, maxConns int32) *pgxpool.Pool {
		cfg := f.pool.Config()
		cfg.MaxConns = maxConns
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return pool
	}
	// Every pool here is on f's database: the old pool, collected, hands
	// its series on to the current one.
	primary := poolAttrs(f.pool, "primary")
	for _, withReadPool := range []bool{false, true} {
		t.Run(fmt.Sprintf("ReadPool %v", withReadPool), func(t *testing.T) {
			m := metrictest.New(t)
			collected := make(chan struct{})
			var before metrictest.Snapshot
			func() {
				old := newPool(t, 3)
				defer old.Close()
				runtime.AddCleanup(old, func(collected chan struct{}) { close(collected) }, collected)
				cfg := pgstore.Config{MeterProvider: m.Provider, Logger: quiet}
				if withReadPool {
					// Not in recovery: every check falls back to the primary.
					cfg.ReadPool = newPool(t, 2)
					defer cfg.ReadPool.Close()
				}
				s, err := pgstore.New(old, cfg)
				if err != nil {
					t.Fatal(err)
				}
				h, _ := f.create(t, nil)
				mustValidate(t, s, h, sessionguard.Scope{})
				before = m.Collect(t)
				if before.Value("sessionguard.pool.acquires", primary...) == 0 {
					t.Fatal("no acquire counted on the old pool")
				}
			}()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				runtime.GC()
				select {
				case <-collected:
				default:
					if time.Now().After(deadline) {
						t.Fatal("a closed pool that nothing of the application references was not collected in 10 s")
					}
					continue
				}
				break
			}
			current := newPool(t, 5)
			t.Cleanup(current.Close)
			if _, err := pgstore.New(current, pgstore.Config{MeterProvider: m.Provider, Logger: quiet}); err != nil {
				t.Fatal(err)
			}
			if err := current.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			s := m.Collect(t)
			if got := s.Value("sessionguard.pool.max_connections", primary...); got != 5 {
				t.Errorf("max_connections = %d after the old pool (3) was collected, want 5, the current pool's", got)
			}
			if got, want := s.Value("sessionguard.pool.acquires", primary...), before.Value("sessionguard.pool.acquires", primary...)+current.Stat().AcquireCount(); got != want {
				t.Errorf("acquires = %d, want %d: the old pool's and the current one's", got, want)
			}
			if !withReadPool {
				return
			}
			// No pool is left in the replica's series: it reports no
			// connections, not a max_connections of 0 that reads as every
			// connection taken.
			for _, p := range s["sessionguard.pool.max_connections"].Data.(metricdata.Sum[int64]).DataPoints {
				if role, _ := p.Attributes.Value("pool"); role.AsString() == "replica" {
					t.Errorf("replica max_connections = %d after the read pool was collected, want no series", p.Value)
				}
			}
			if got, want := s.Value("sessionguard.replica.fallbacks"), before.Value("sessionguard.replica.fallbacks"); got != want || want == 0 {
				t.Errorf("replica fallbacks = %d after the Store was collected, want %d (and not 0)", got, want)
			}
		})
	}
}
