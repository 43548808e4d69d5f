package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

type options struct {
	duration    time.Duration
	warmup      time.Duration
	conns       []int // load levels the ratios are taken at
	lowConns    []int // light load levels, for latency
	pools       []int // pool sizes swept for the database variants
	pool        int   // pool size of the other database variants and of the light-load windows
	rounds      int
	sessions    int
	revocations int
	serve       bool // serve the variants for an external load generator instead of measuring
}

func main() {
	o, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mode := run
	if o.serve {
		mode = serveForLoad
	}
	if err := mode(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(fs *flag.FlagSet, args []string) (options, error) {
	var o options
	var conns, low, pools string
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "measured window per variant per round")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "timed warm-up before each window (after the one-request-per-session pass of the variants that touch at most once per interval)")
	fs.StringVar(&conns, "conns", "32,256", "keep-alive connections of the load generator; the ratios are taken at each")
	fs.StringVar(&low, "lowconns", "1,4", "light loads at which the default path's latency is measured, batched and unbatched (empty: none)")
	fs.StringVar(&pools, "pools", "2,4,8", "PostgreSQL pool sizes swept for the database variants; each variant's best counts")
	fs.IntVar(&o.pool, "pool", 4, "pool size of the cached and JWT-mode variants and of the light-load windows")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; every window runs once per round, interleaved")
	fs.IntVar(&o.sessions, "sessions", 10000, "sessions per variant")
	fs.IntVar(&o.revocations, "revocations", 20, "revocations timed per cached window")
	fs.BoolVar(&o.serve, "serve", false, "set up as a run would, then serve every variant (at each pool size) for an external load generator until interrupted; prints a line per variant with a wrk script (see bench/wrk.sh)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.conns, err = intList(conns); err != nil || len(o.conns) == 0 {
		return o, fmt.Errorf("-conns %q: a comma-separated list of positive integers", conns)
	}
	if o.lowConns, err = intList(low); err != nil {
		return o, fmt.Errorf("-lowconns %q: a comma-separated list of positive integers", low)
	}
	if o.pools, err = intList(pools); err != nil || len(o.pools) == 0 {
		return o, fmt.Errorf("-pools %q: a comma-separated list of positive integers", pools)
	}
	if o.duration <= 0 || o.rounds <= 0 || o.pool <= 0 || o.sessions <= 0 || o.revocations < 0 || o.warmup < 0 {
		return o, fmt.Errorf("-duration, -pool, -rounds and -sessions must be positive")
	}
	return o, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// kind is one design under test.
type kind struct {
	key     string // its key in the JSON line
	name    string
	reqs    [][]byte    // one prepared request per session
	set     *sessionSet // its own sessions in our table, or nil
	swept   bool        // run at every pool size of -pools, else at -pool (0 for no database)
	db      bool
	pass    bool // touches at most once per interval: one request per session before each window
	touches bool // writes last_activity_at of set
	low     bool // also run at the light loads
	revokes bool // time revocations during its windows
	// cache is the Cache its handler asks, whose hits and misses its windows
	// count, or nil.
	cache *pgstore.Cache
	// handler builds its handler over the pools of one size.
	handler func(p *poolSet) (http.Handler, error)
}

// poolSet is one pool size's pools and the stores over them.
type poolSet struct {
	size      int
	bench     *pgxpool.Pool
	scs       *pgxpool.Pool
	store     *pgstore.Store // default configuration
	unbatched *pgstore.Store // batching off
}

// cell is one kind at one load and pool size, with its server.
type cell struct {
	k     *kind
	conns int
	pool  int // 0: no database
	addr  string
	res   variantResult
}

func (c *cell) label() string {
	if c.pool == 0 {
		return c.k.name
	}
	return fmt.Sprintf("%s, pool %d", c.k.name, c.pool)
}

// app holds what the windows share.
type app struct {
	o          options
	log        io.Writer
	stats      *pgxpool.Pool // measuring connection, bench database
	postmaster int
	pools      []*pgxpool.Pool // every pool, reset before each snapshot
	bench      *pgxpool.Pool   // the -pool bench pool, for the bench's own writes
	touchEvery time.Duration
	poolA      *pgxpool.Pool  // instance A's
	cacheA     *pgstore.Cache // instance A: revokes
	cacheB     *pgstore.Cache // instance B: serves the cached opaque variant
	victims    *sessionSet    // sessions revoked during the cached windows
	victimAt   int
}

func (a *app) logf(format string, args ...any) {
	fmt.Fprintf(a.log, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// rig is a prepared bench: the throwaway PostgreSQL, every variant's
// sessions and caches, and every variant served on its own loopback port at
// each of its pool sizes. The measured run and the -serve mode share it, so
// that an external load generator meets exactly what the bench's own does.
type rig struct {
	a       *app
	kinds   []*kind
	addrs   map[string]string // "key/pool" -> address
	pgDir   string            // the throwaway server's directory, removed by close
	closers []func()
}

// onClose registers f to run when the rig closes, in reverse order.
func (r *rig) onClose(f func()) { r.closers = append(r.closers, f) }

// close shuts the servers, caches and pools down and removes the throwaway
// PostgreSQL.
func (r *rig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

func run(ctx context.Context, o options, out, logw io.Writer) error {
	started := time.Now()
	r, err := setup(ctx, o, logw)
	if err != nil {
		return err
	}
	defer r.close()
	a, kinds, addrs := r.a, r.kinds, r.addrs

	// The cells: every kind at every load, the swept ones at every pool
	// size; the light loads for the kinds that compare latency there.
	var cells []*cell
	for _, c := range o.conns {
		for _, k := range kinds {
			for _, size := range k.poolSizes(o) {
				cells = append(cells, &cell{k: k, conns: c, pool: size, addr: addrs[k.key+"/"+strconv.Itoa(size)]})
			}
		}
	}
	for _, c := range o.lowConns {
		for _, k := range kinds {
			if k.low {
				cells = append(cells, &cell{k: k, conns: c, pool: o.pool, addr: addrs[k.key+"/"+strconv.Itoa(o.pool)]})
			}
		}
	}

	var revocations []time.Duration
	for round := range o.rounds {
		// Rotate the order so that no cell always runs right after the same one.
		for i := range cells {
			c := cells[(i+round)%len(cells)]
			a.logf("round %d/%d: %s at %d connections", round+1, o.rounds, c.label(), c.conns)
			w, err := a.window(ctx, c, c.k.revokes && slices.Contains(o.conns, c.conns))
			if err != nil {
				return fmt.Errorf("%s at %d connections: %w", c.label(), c.conns, err)
			}
			c.res.add(w)
			revocations = append(revocations, w.revocations...)
		}
	}
	report(out, o, cells, revocations, a.touchEvery, time.Since(started))
	return nil
}

// setup prepares the rig as both modes use it; on error it has already
// cleaned up.
func setup(ctx context.Context, o options, logw io.Writer) (r *rig, err error) {
	a := &app{o: o, log: logw}
	r = &rig{a: a}
	defer func() {
		if err != nil {
			r.close()
			r = nil
		}
	}()
	a.logf("starting PostgreSQL (GOMAXPROCS %d, %d CPUs)", runtime.GOMAXPROCS(0), runtime.NumCPU())
	sizes := slices.Clone(o.pools)
	if !slices.Contains(sizes, o.pool) {
		sizes = append(sizes, o.pool)
	}
	maxConns := 50
	for _, s := range sizes {
		maxConns += 4 * s // bench, unbatched store, scs and spare
	}
	srv, err := startServer(ctx, maxConns)
	if err != nil {
		return nil, err
	}
	r.onClose(func() { srv.Close() })

	if a.stats, err = newPool(ctx, srv, benchDB, statsApp, 2); err != nil {
		return nil, err
	}
	r.onClose(func() { a.stats.Close() })
	if a.postmaster, err = postmasterPID(ctx, a.stats); err != nil {
		return nil, err
	}
	sets := map[int]*poolSet{}
	for _, size := range sizes {
		ps, err := newPoolSet(ctx, srv, size)
		if err != nil {
			return nil, err
		}
		r.onClose(func() { ps.bench.Close() })
		r.onClose(func() { ps.scs.Close() })
		sets[size] = ps
		a.pools = append(a.pools, ps.bench, ps.scs)
	}
	a.bench = sets[o.pool].bench
	if a.poolA, err = newPool(ctx, srv, benchDB, "bench-instance-a", 4); err != nil {
		return nil, err
	}
	r.onClose(func() { a.poolA.Close() })
	a.pools = append(a.pools, a.poolA)

	const usersPerSet = 100
	if err := prepareSchemas(ctx, a.bench, sets[o.pool].scs, len(setNames)*usersPerSet); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	for _, ps := range sets {
		if err := ps.stores(quiet); err != nil {
			return nil, err
		}
	}
	store := sets[o.pool].store
	a.touchEvery = store.TouchInterval()
	storeA, err := pgstore.New(a.poolA, pgstore.Config{Logger: quiet})
	if err != nil {
		return nil, err
	}
	if a.cacheA, err = pgstore.NewCache(storeA, pgstore.CacheConfig{Logger: quiet}); err != nil {
		return nil, err
	}
	if a.cacheB, err = pgstore.NewCache(store, pgstore.CacheConfig{Logger: quiet}); err != nil {
		return nil, err
	}
	cacheJWT, err := pgstore.NewCache(store, pgstore.CacheConfig{Logger: quiet})
	if err != nil {
		return nil, err
	}
	listenCtx, stopListening := context.WithCancel(ctx)
	r.onClose(stopListening)
	for _, c := range []*pgstore.Cache{a.cacheA, a.cacheB, cacheJWT} {
		go func() { _ = c.Run(listenCtx) }()
	}

	a.logf("creating %d sessions per variant", o.sessions)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	bearer := jwtBearer(secret)
	setOf := func(name string, n int, i int64, tokens func(string, int64) (string, string, error)) (*sessionSet, error) {
		return createSessions(ctx, a.bench, name, n, i*usersPerSet+1, usersPerSet, tokens)
	}
	var seedSet, handSet, defaultSet, unbatchedSet, defaultJWTSet, cachedSet, cachedJWTSet *sessionSet
	for _, c := range []struct {
		set    **sessionSet
		name   string
		tokens func(string, int64) (string, string, error)
	}{
		{&seedSet, "seed", opaqueCookie}, {&handSet, "handwritten", opaqueCookie}, {&defaultSet, "default", opaqueCookie},
		{&unbatchedSet, "unbatched", opaqueCookie}, {&defaultJWTSet, "default-jwt", bearer}, {&cachedSet, "cached", opaqueCookie},
		{&cachedJWTSet, "cached-jwt", bearer},
	} {
		if *c.set, err = setOf(c.name, o.sessions, userBlock(c.name), c.tokens); err != nil {
			return nil, err
		}
	}
	revocationWindows := o.rounds * len(o.conns)
	if a.victims, err = setOf("victims", max(1, revocationWindows*o.revocations), userBlock("victims"), opaqueCookie); err != nil {
		return nil, err
	}
	sm := newSCS(sets[o.pool].scs)
	scsCookies, err := createSCSSessions(ctx, sm, o.sessions)
	if err != nil {
		return nil, fmt.Errorf("scs sessions: %w", err)
	}
	jwts, err := makeJWTs(secret, o.sessions)
	if err != nil {
		return nil, err
	}
	if _, err := a.bench.Exec(ctx, "VACUUM ANALYZE sessions"); err != nil {
		return nil, err
	}

	guard := func(s sessionguard.Store, jwtMode bool) (http.Handler, error) {
		cfg := middleware.Config{Store: s, Logger: quiet}
		if jwtMode {
			cfg.JWT = &middleware.JWTConfig{
				Keys:           []middleware.JWTKey{{ID: jwtKeyID, Algorithm: "HS256", VerifyKey: secret}},
				Issuer:         jwtIssuer,
				Audience:       jwtAudience,
				SessionIDClaim: "sid",
			}
		}
		g, err := middleware.New(cfg)
		if err != nil {
			return nil, err
		}
		return g.Middleware(ok), nil
	}
	kinds := []*kind{
		{key: "noop", name: "load generator vs no-op server"},
		{key: "no_auth", name: "no auth", reqs: requestsFor("", []string{""}),
			handler: func(*poolSet) (http.Handler, error) { return ok, nil }},
		{key: "jwt", name: "JWT only (HS256)", reqs: requestsFor("Authorization", jwts),
			handler: func(*poolSet) (http.Handler, error) { return jwtOnly(secret, ok), nil }},
		{key: "seed", name: "seed: two calls, by hand", set: seedSet, db: true, swept: true, touches: true,
			handler: func(p *poolSet) (http.Handler, error) { return seedAuth(p.bench, ok), nil }},
		{key: "scs", name: "scs + pgxstore, by hand", reqs: requestsFor("Cookie", scsCookies), db: true, swept: true,
			handler: func(p *poolSet) (http.Handler, error) { return scsAuth(newSCS(p.scs), ok), nil }},
		{key: "handwritten", name: "hand-written floor (SELECT, UPDATE when due)", set: handSet, db: true, swept: true, pass: true, touches: true, low: true,
			handler: func(p *poolSet) (http.Handler, error) { return handwritten(p.bench, a.touchEvery, ok), nil }},
		{key: "default", name: "default (Guard+Store)", set: defaultSet, db: true, swept: true, pass: true, touches: true, low: true,
			handler: func(p *poolSet) (http.Handler, error) { return guard(p.store, false) }},
		{key: "unbatched", name: "default, batching off", set: unbatchedSet, db: true, swept: true, pass: true, touches: true, low: true,
			handler: func(p *poolSet) (http.Handler, error) { return guard(p.unbatched, false) }},
		{key: "default_jwt", name: "default, JWT mode", set: defaultJWTSet, db: true, pass: true, touches: true,
			handler: func(p *poolSet) (http.Handler, error) { return guard(p.store, true) }},
		{key: "cached", name: "cached (Guard+Cache)", set: cachedSet, db: true, pass: true, touches: true, revokes: true, cache: a.cacheB,
			handler: func(*poolSet) (http.Handler, error) { return guard(a.cacheB, false) }},
		{key: "cached_jwt", name: "cached, JWT mode", set: cachedJWTSet, db: true, pass: true, touches: true, cache: cacheJWT,
			handler: func(*poolSet) (http.Handler, error) { return guard(cacheJWT, true) }},
	}

	// One server per kind and pool size.
	noop, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.onClose(func() { noop.Close() })
	go serveNoop(noop)
	kinds[0].reqs = kinds[1].reqs
	addrs := map[string]string{"noop/0": noop.Addr().String()}
	for _, k := range kinds[1:] {
		if k.set != nil {
			k.reqs = requestsFor(headerOf(k.set), k.set.headers)
		}
		for _, size := range k.servedSizes(o) {
			ps := sets[size]
			if size == 0 {
				ps = sets[o.pool] // not used
			}
			h, err := k.handler(ps)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.name, err)
			}
			srv, addr, err := serve(h)
			if err != nil {
				return nil, err
			}
			r.onClose(func() { srv.Close() })
			addrs[k.key+"/"+strconv.Itoa(size)] = addr
		}
	}
	r.kinds, r.addrs, r.pgDir = kinds, addrs, srv.Dir()
	return r, nil
}

// setNames are the session sets, told apart by user ids: set i owns users
// [100i+1, 100i+100].
var setNames = []string{"seed", "handwritten", "default", "unbatched", "default-jwt", "cached", "cached-jwt", "victims"}

func userBlock(name string) int64 { return int64(slices.Index(setNames, name)) }

func headerOf(s *sessionSet) string {
	if strings.HasPrefix(s.headers[0], "Bearer ") {
		return "Authorization"
	}
	return "Cookie"
}

// poolSizes are the pool sizes k runs at (0: it uses no pool).
func (k *kind) poolSizes(o options) []int {
	switch {
	case k.swept:
		return o.pools
	case k.db:
		return []int{o.pool}
	}
	return []int{0}
}

// servedSizes are the pool sizes k gets a server at: those it runs at
// under load and, for a light-load kind, -pool, which -pools need not hold.
func (k *kind) servedSizes(o options) []int {
	sizes := k.poolSizes(o)
	if k.low && len(o.lowConns) > 0 && !slices.Contains(sizes, o.pool) {
		sizes = append(slices.Clone(sizes), o.pool)
	}
	return sizes
}

func newPoolSet(ctx context.Context, srv *pgtemp.Server, size int) (*poolSet, error) {
	b, err := newPool(ctx, srv, benchDB, "bench", size)
	if err != nil {
		return nil, err
	}
	s, err := newPool(ctx, srv, scsDB, "bench-scs", size)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &poolSet{size: size, bench: b, scs: s}, nil
}

func (p *poolSet) stores(logger *slog.Logger) error {
	var err error
	if p.store, err = pgstore.New(p.bench, pgstore.Config{Logger: logger}); err != nil {
		return err
	}
	p.unbatched, err = pgstore.New(p.bench, pgstore.Config{Logger: logger, MaxBatch: 1})
	return err
}

// newSCS is scs as its README sets it up with pgxstore, IdleTimeout 4 h (so
// every request commits).
func newSCS(pool *pgxpool.Pool) *scs.SessionManager {
	sm := scs.New()
	sm.Store = pgxstore.NewWithCleanupInterval(pool, 0)
	sm.IdleTimeout = 4 * time.Hour
	sm.Lifetime = 8 * time.Hour
	return sm
}

// windowResult is one cell's measured window in one round.
type windowResult struct {
	load        loadResult
	delta       counters
	cpu         cpuTimes
	staleBefore int
	aligned     int // sessions whose touch was brought forward before the window
	revocations []time.Duration
	cache       pgstore.CacheStats // hits and misses in the measured window
}

// window warms c up and measures one window.
func (a *app) window(ctx context.Context, c *cell, revoke bool) (windowResult, error) {
	var w windowResult
	k := c.k
	if k.pass {
		if err := touchPass(ctx, c.addr, k, c.conns); err != nil {
			return w, err
		}
	}
	if a.o.warmup > 0 {
		runLoad(ctx, c.addr, k.reqs, c.conns, a.o.warmup, false)
	}
	if k.pass && k.touches {
		// The steady state the goal speaks of: every session touched within
		// the interval before the window, and none coming due in it. Sessions
		// that the pass found a few seconds short of due would otherwise all
		// be written in this one window (they were created in one instant);
		// their touch is brought forward here, outside the counted window.
		// The continuous-traffic rate is reported beside it. Through a bench
		// pool, not the stats connection: the snapshot below waits for the
		// pools' backends to exit, so this UPDATE's row counts are published
		// before the window, not in it.
		n, err := alignTouches(ctx, a.bench, k.set, a.touchEvery, a.o.warmup+a.o.duration+5*time.Second)
		if err != nil {
			return w, err
		}
		w.aligned = n
		if w.staleBefore, err = staleSessions(ctx, a.stats, k.set, a.touchEvery); err != nil {
			return w, err
		}
	}
	if revoke && a.o.revocations > 0 {
		if err := a.cacheVictims(ctx); err != nil {
			return w, err
		}
	}
	before, err := snapshot(ctx, a.stats, a.pools...)
	if err != nil {
		return w, err
	}
	cpuBefore := cpuTimes{processCPU(), postgresCPU(a.postmaster)}
	var revoked chan []time.Duration
	if revoke && a.o.revocations > 0 {
		// The snapshot closed instance A's connections: open them again, as a
		// running instance would have them, before timing revocations.
		if err := a.poolA.Ping(ctx); err != nil {
			return w, err
		}
		revoked = make(chan []time.Duration, 1)
		go func() { revoked <- a.revokeDuringLoad(ctx) }()
	}
	var cacheBefore pgstore.CacheStats
	if k.cache != nil {
		cacheBefore = k.cache.Stats()
	}
	w.load = runLoad(ctx, c.addr, k.reqs, c.conns, a.o.duration, true)
	goCPU := processCPU()
	if k.cache != nil {
		after := k.cache.Stats()
		w.cache.Hits, w.cache.Misses = after.Hits-cacheBefore.Hits, after.Misses-cacheBefore.Misses
	}
	if revoked != nil {
		w.revocations = <-revoked
	}
	after, err := snapshot(ctx, a.stats, a.pools...)
	if err != nil {
		return w, err
	}
	w.cpu = cpuTimes{goCPU, postgresCPU(a.postmaster)}.sub(cpuBefore)
	w.delta = after.sub(before)
	return w, nil
}

// touchPass sends one request per session of k to addr (a variant that
// touches at most once per interval): every session k will use has then been
// touched within the interval by k, not by another variant.
func touchPass(ctx context.Context, addr string, k *kind, conns int) error {
	if r := runLoad(ctx, addr, k.reqs, max(conns, 32), 0, false); r.errors > 0 {
		return fmt.Errorf("%d errors in the warm-up pass", r.errors)
	}
	return nil
}

// cacheVictims makes instance B hold this window's victims, so that each
// revocation has a cached entry to evict.
func (a *app) cacheVictims(ctx context.Context) error {
	for i := a.victimAt; i < a.victimAt+a.o.revocations && i < len(a.victims.hashes); i++ {
		if st, err := a.cacheB.Validate(ctx, a.victims.hashes[i], sessionguard.Scope{}); err != nil || !st.Valid() {
			return fmt.Errorf("victim session: %v %v", st.State, err)
		}
	}
	return nil
}

// revokeDuringLoad revokes this window's victims on instance A, spread over
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

// variantResult gathers a cell's windows over the rounds.
type variantResult struct {
	rates       []float64
	latencies   []time.Duration
	requests    int64
	errors      int
	delta       counters
	cpu         cpuTimes
	staleBefore int
	aligned     int
	cache       pgstore.CacheStats // hits and misses in the measured windows
}

func (r *variantResult) add(w windowResult) {
	r.rates = append(r.rates, float64(w.load.requests)/w.load.elapsed.Seconds())
	r.latencies = append(r.latencies, w.load.latencies...)
	r.requests += int64(w.load.requests)
	r.errors += w.load.errors
	d := w.delta
	r.delta = counters{r.delta.statements + d.statements, r.delta.updates + d.updates, r.delta.hotUpdates + d.hotUpdates, r.delta.walBytes + d.walBytes}
	r.cpu = cpuTimes{r.cpu.goProc + w.cpu.goProc, r.cpu.postgres + w.cpu.postgres}
	r.staleBefore = max(r.staleBefore, w.staleBefore)
	r.aligned += w.aligned
	r.cache.Hits += w.cache.Hits
	r.cache.Misses += w.cache.Misses
}

func (r *variantResult) medianRate() float64 {
	if len(r.rates) == 0 {
		return 0
	}
	s := slices.Clone(r.rates)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
