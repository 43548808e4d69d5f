package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

type options struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	poolSize    int
	rounds      int
	sessions    int
	revocations int
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "measured window per variant per round")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "timed warm-up before each window (after the one-request-per-session pass of the database variants)")
	flag.IntVar(&o.concurrency, "concurrency", 32, "concurrent keep-alive connections of the load generator")
	flag.IntVar(&o.poolSize, "pool", 4, "PostgreSQL connections of each database variant's pool (about two per core serves best here)")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; every variant runs once per round, interleaved")
	flag.IntVar(&o.sessions, "sessions", 10000, "sessions per variant")
	flag.IntVar(&o.revocations, "revocations", 20, "revocations timed per round during the cached variant's window")
	flag.Parse()
	if o.duration <= 0 || o.concurrency <= 0 || o.rounds <= 0 || o.poolSize <= 0 || o.sessions <= 0 || o.revocations < 0 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "bench: -duration, -concurrency, -pool, -rounds and -sessions must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// app holds what the variants share.
type app struct {
	o        options
	stats    *pgxpool.Pool // measuring connection, bench database
	pools    []*pgxpool.Pool
	poolA    *pgxpool.Pool // instance A's
	store    *pgstore.Store
	cacheA   *pgstore.Cache // instance A: revokes
	cacheB   *pgstore.Cache // instance B: serves the cached variant
	victims  *sessionSet    // sessions revoked during the cached windows
	victimAt int
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	logf("starting PostgreSQL (GOMAXPROCS %d, %d CPUs)", runtime.GOMAXPROCS(0), runtime.NumCPU())
	srv, err := startServer(ctx, 4*o.concurrency+50)
	if err != nil {
		return err
	}
	defer srv.Close()

	a := &app{o: o}
	if a.stats, err = newPool(ctx, srv, benchDB, statsApp, 2); err != nil {
		return err
	}
	defer a.stats.Close()
	benchPool, err := newPool(ctx, srv, benchDB, "bench", o.poolSize)
	if err != nil {
		return err
	}
	defer benchPool.Close()
	poolA, err := newPool(ctx, srv, benchDB, "bench-instance-a", 4)
	if err != nil {
		return err
	}
	defer poolA.Close()
	scsPool, err := newPool(ctx, srv, scsDB, "bench-scs", o.poolSize)
	if err != nil {
		return err
	}
	defer scsPool.Close()
	a.pools = []*pgxpool.Pool{benchPool, poolA, scsPool}
	a.poolA = poolA

	const usersPerSet = 100
	if err := prepareSchemas(ctx, benchPool, scsPool, 4*usersPerSet); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if a.store, err = pgstore.New(benchPool, pgstore.Config{}); err != nil {
		return err
	}
	storeA, err := pgstore.New(poolA, pgstore.Config{})
	if err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	if a.cacheA, err = pgstore.NewCache(storeA, pgstore.CacheConfig{Logger: quiet}); err != nil {
		return err
	}
	if a.cacheB, err = pgstore.NewCache(a.store, pgstore.CacheConfig{Logger: quiet}); err != nil {
		return err
	}
	listenCtx, stopListening := context.WithCancel(ctx)
	defer stopListening()
	go func() { _ = a.cacheA.Run(listenCtx) }()
	go func() { _ = a.cacheB.Run(listenCtx) }()

	logf("creating %d sessions per variant", o.sessions)
	seedSet, err := createSessions(ctx, benchPool, "seed", o.sessions, 1, usersPerSet)
	if err != nil {
		return err
	}
	defaultSet, err := createSessions(ctx, benchPool, "default", o.sessions, usersPerSet+1, usersPerSet)
	if err != nil {
		return err
	}
	cachedSet, err := createSessions(ctx, benchPool, "cached", o.sessions, 2*usersPerSet+1, usersPerSet)
	if err != nil {
		return err
	}
	if a.victims, err = createSessions(ctx, benchPool, "victims", max(1, o.rounds*o.revocations), 3*usersPerSet+1, usersPerSet); err != nil {
		return err
	}
	sm := scs.New()
	sm.Store = pgxstore.NewWithCleanupInterval(scsPool, 0)
	sm.IdleTimeout = 4 * time.Hour
	sm.Lifetime = 8 * time.Hour
	scsCookies, err := createSCSSessions(ctx, sm, o.sessions)
	if err != nil {
		return fmt.Errorf("scs sessions: %w", err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	jwts, err := makeJWTs(secret, o.sessions)
	if err != nil {
		return err
	}
	if _, err := benchPool.Exec(ctx, "VACUUM ANALYZE sessions"); err != nil {
		return err
	}

	guardOf := func(store sessionguard.Store) (*middleware.Guard, error) {
		return middleware.New(middleware.Config{Store: store, Logger: quiet})
	}
	defaultGuard, err := guardOf(a.store)
	if err != nil {
		return err
	}
	cachedGuard, err := guardOf(a.cacheB)
	if err != nil {
		return err
	}
	variants := []*variant{
		{name: "no auth", values: []string{""}},
		{name: "JWT only (HS256)", header: "Authorization", values: jwts},
		{name: "seed: two calls", header: "Cookie", values: seedSet.cookies, set: seedSet, touches: true},
		{name: "scs + pgxstore", header: "Cookie", values: scsCookies},
		{name: "default (Guard+Store)", header: "Cookie", values: defaultSet.cookies, set: defaultSet, pass: true, touches: true},
		{name: "cached (Guard+Cache)", header: "Cookie", values: cachedSet.cookies, set: cachedSet, pass: true, touches: true},
	}
	handlers := []http.Handler{ok, jwtOnly(secret, ok), seedAuth(benchPool, ok), scsAuth(sm, ok), defaultGuard.Middleware(ok), cachedGuard.Middleware(ok)}
	for i, v := range variants {
		if err := serve(v, handlers[i]); err != nil {
			return err
		}
		defer v.srv.Close()
	}
	cached := variants[5]

	results := make(map[string]*variantResult, len(variants))
	for _, v := range variants {
		results[v.name] = &variantResult{}
	}
	var revocations []time.Duration
	maxStale, aligned := 0, 0
	for round := range o.rounds {
		// Rotate the order so that no variant always runs right after the same one.
		for k := range variants {
			v := variants[(k+round)%len(variants)]
			logf("round %d/%d: %s", round+1, o.rounds, v.name)
			w, err := a.window(ctx, v, v == cached)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			if v.name == "default (Guard+Store)" {
				maxStale = max(maxStale, w.staleBefore)
				aligned += w.aligned
			}
			results[v.name].add(w)
			revocations = append(revocations, w.revocations...)
		}
	}

	report(os.Stdout, o, variants, results, revocations, maxStale, aligned, a.store.TouchInterval(), a.cacheB.Stats(), time.Since(started))
	return nil
}

// windowResult is one variant's measured window in one round.
type windowResult struct {
	load        loadResult
	delta       counters
	staleBefore int
	aligned     int // sessions whose touch was brought forward before the window
	revocations []time.Duration
}

// window warms v up and measures one window.
func (a *app) window(ctx context.Context, v *variant, revoke bool) (windowResult, error) {
	var w windowResult
	client := newClient(a.o.concurrency)
	defer client.CloseIdleConnections()
	if v.pass {
		// One request per session: every session this variant will use has
		// been touched within the interval by this variant, not another.
		if r := runLoad(ctx, client, v, a.o.concurrency, 0, false); r.errors > 0 {
			return w, fmt.Errorf("%d errors in the warm-up pass", r.errors)
		}
	}
	if a.o.warmup > 0 {
		runLoad(ctx, client, v, a.o.concurrency, a.o.warmup, false)
	}
	if v.pass && v.touches {
		// The steady state the goal speaks of: every session touched within
		// the interval before the window, and none coming due in it. Sessions
		// that the pass found a few seconds short of due would otherwise all
		// be written in this one window (they were created in one instant);
		// their touch is brought forward here, outside the counted window.
		// The continuous-traffic rate is reported beside it.
		// Through the bench pool, not the stats connection: the snapshot
		// below waits for the pool's backends to exit, so this UPDATE's row
		// counts are published before the window, not in it.
		n, err := alignTouches(ctx, a.pools[0], v.set, a.store.TouchInterval(), a.o.warmup+a.o.duration+5*time.Second)
		if err != nil {
			return w, err
		}
		w.aligned = n
	}
	if v.set != nil && v.touches {
		n, err := staleSessions(ctx, a.stats, v.set, a.store.TouchInterval())
		if err != nil {
			return w, err
		}
		w.staleBefore = n
	}
	var revoked chan []time.Duration
	if revoke && a.o.revocations > 0 {
		if err := a.cacheVictims(ctx); err != nil {
			return w, err
		}
	}
	before, err := snapshot(ctx, a.stats, a.pools...)
	if err != nil {
		return w, err
	}
	if revoke && a.o.revocations > 0 {
		// The snapshot closed instance A's connections: open them again, as a
		// running instance would have them, before timing revocations.
		if err := a.poolA.Ping(ctx); err != nil {
			return w, err
		}
		revoked = make(chan []time.Duration, 1)
		go func() { revoked <- a.revokeDuringLoad(ctx) }()
	}
	w.load = runLoad(ctx, client, v, a.o.concurrency, a.o.duration, true)
	if revoked != nil {
		w.revocations = <-revoked
	}
	client.CloseIdleConnections()
	after, err := snapshot(ctx, a.stats, a.pools...)
	if err != nil {
		return w, err
	}
	w.delta = after.sub(before)
	return w, nil
}

// cacheVictims makes instance B hold this round's victims, so that each
// revocation has a cached entry to evict.
func (a *app) cacheVictims(ctx context.Context) error {
	for i := a.victimAt; i < a.victimAt+a.o.revocations && i < len(a.victims.hashes); i++ {
		if st, err := a.cacheB.Validate(ctx, a.victims.hashes[i], sessionguard.Scope{}); err != nil || !st.Valid() {
			return fmt.Errorf("victim session: %v %v", st.State, err)
		}
	}
	return nil
}

// revokeDuringLoad revokes this round's victims on instance A, spread over
// the window, and times each until instance B refuses it.
func (a *app) revokeDuringLoad(ctx context.Context) []time.Duration {
	var out []time.Duration
	gap := a.o.duration * 3 / 4 / time.Duration(a.o.revocations)
	for range a.o.revocations {
		if a.victimAt >= len(a.victims.hashes) {
			break
		}
		hash := a.victims.hashes[a.victimAt]
		a.victimAt++
		time.Sleep(gap)
		start := time.Now()
		if _, err := a.cacheA.Revoke(ctx, hash, sessionguard.ReasonAdminRevoke); err != nil {
			continue
		}
		for time.Since(start) < 10*time.Second {
			st, err := a.cacheB.Validate(ctx, hash, sessionguard.Scope{})
			if err == nil && !st.Valid() {
				out = append(out, time.Since(start))
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	return out
}

// variantResult gathers a variant's windows over the rounds.
type variantResult struct {
	rates     []float64
	latencies []time.Duration
	requests  int64
	errors    int
	delta     counters
}

func (r *variantResult) add(w windowResult) {
	r.rates = append(r.rates, float64(w.load.requests)/w.load.elapsed.Seconds())
	r.latencies = append(r.latencies, w.load.latencies...)
	r.requests += int64(w.load.requests)
	r.errors += w.load.errors
	d := w.delta
	r.delta = counters{r.delta.statements + d.statements, r.delta.updates + d.updates, r.delta.hotUpdates + d.hotUpdates, r.delta.walBytes + d.walBytes}
}

func (r *variantResult) medianRate() float64 {
	s := slices.Clone(r.rates)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func perReq(n int64, reqs int64) float64 {
	if reqs == 0 {
		return 0
	}
	return float64(n) / float64(reqs)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// report prints the table and, as its last line, the JSON summary.
func report(out *os.File, o options, variants []*variant, results map[string]*variantResult, revocations []time.Duration,
	maxStale, aligned int, touchInterval time.Duration, cs pgstore.CacheStats, took time.Duration) {
	noAuth := results[variants[0].name].medianRate()
	fmt.Fprintf(out, "\nsessionguard bench: %d rounds x %v windows, %d HTTP connections, pools of %d, %d sessions per variant, GOMAXPROCS %d, took %v\n\n",
		o.rounds, o.duration, o.concurrency, o.poolSize, o.sessions, runtime.GOMAXPROCS(0), took.Round(time.Second))
	fmt.Fprintf(out, "| variant | req/s (median) | ÷ no auth | p50 ms | p99 ms | statements/req | row updates/req | HOT updates | WAL bytes/req | errors |\n")
	fmt.Fprintf(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, v := range variants {
		r := results[v.name]
		hot := "-"
		if v.touches && r.delta.updates > 0 {
			hot = fmt.Sprintf("%d of %d", r.delta.hotUpdates, r.delta.updates)
		}
		fmt.Fprintf(out, "| %s | %.0f | %.2f | %.2f | %.2f | %.3f | %.4f | %s | %.1f | %d |\n",
			v.name, r.medianRate(), r.medianRate()/noAuth, ms(percentile(r.latencies, 0.5)), ms(percentile(r.latencies, 0.99)),
			perReq(r.delta.statements, r.requests), perReq(r.delta.updates, r.requests), hot,
			perReq(r.delta.walBytes, r.requests), r.errors)
	}
	rate := func(i int) float64 { return results[variants[i].name].medianRate() }
	def := results[variants[4].name]
	fmt.Fprintf(out, "\nper-round req/s:")
	for _, v := range variants {
		fmt.Fprintf(out, " %s %.0f;", v.name, results[v.name].rates)
	}
	fmt.Fprintf(out, "\ndefault path: sessions of its set untouched for a whole touch interval when a window started (max over rounds): %d\n", maxStale)
	fmt.Fprintf(out, "default path: sessions whose touch was brought forward before a window (all rounds): %d\n", aligned)
	fmt.Fprintf(out, "default path under continuous traffic (one write per session per %v): %d sessions / (%.0f s x %.0f req/s) = %.4f row updates/req\n",
		touchInterval, o.sessions, touchInterval.Seconds(), rate(4), float64(o.sessions)/(touchInterval.Seconds()*rate(4)))
	fmt.Fprintf(out, "cache B: %d hits, %d misses (%.1f%% hits), %d entries at the end\n",
		cs.Hits, cs.Misses, 100*perReq(int64(cs.Hits), int64(cs.Hits+cs.Misses)), cs.Entries)
	fmt.Fprintf(out, "revocation on instance A refused by instance B: n=%d p50 %.2f ms, p99 %.2f ms, max %.2f ms\n\n",
		len(revocations), ms(percentile(revocations, 0.5)), ms(percentile(revocations, 0.99)), ms(percentile(revocations, 1)))

	summary := map[string]any{
		"default_vs_seed":                    round3(rate(4) / rate(2)),
		"default_vs_scs":                     round3(rate(4) / rate(3)),
		"cached_vs_jwt":                      round3(rate(5) / rate(1)),
		"updates_per_req_default":            round3(perReq(def.delta.updates, def.requests)*1000) / 1000,
		"revocation_p99_ms":                  round3(ms(percentile(revocations, 0.99))),
		"revocations":                        len(revocations),
		"updates_per_req_default_continuous": round3(float64(o.sessions)/(touchInterval.Seconds()*rate(4))*1000) / 1000,
		"req_per_s": map[string]float64{
			"no_auth": round3(rate(0)), "jwt": round3(rate(1)), "seed": round3(rate(2)),
			"scs": round3(rate(3)), "default": round3(rate(4)), "cached": round3(rate(5)),
		},
		"rounds": o.rounds, "duration_s": o.duration.Seconds(), "concurrency": o.concurrency, "pool": o.poolSize, "sessions": o.sessions,
	}
	line, _ := json.Marshal(summary)
	fmt.Fprintln(out, string(line))
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
