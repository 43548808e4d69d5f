package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// replicaDelay is the standby's recovery_min_apply_delay in these tests: a
// replica that lags by it at all times.
const replicaDelay = 300 * time.Millisecond

// slowReplicaDelay is the apply delay of the tests that must observe the
// replica still behind after several steps: long enough for a loaded CI
// machine to take them all before the replica catches up.
const slowReplicaDelay = 8 * time.Second

// testReplicaTimeout is Config.ReplicaTimeout of the tests' stores that must
// see the replica answer: a read of it under -race on a loaded CI machine took
// over 500 ms (DefaultReplicaTimeout), and the store, rightly, skipped the
// replica for a second, so a check meant to show the replica answering went
// to the primary ("served 0"). TestReplicaStalledReads covers the default.
const testReplicaTimeout = time.Minute

// replicaFixture is a fixture whose store reads a lagging hot standby.
type replicaFixture struct {
	fixture
	rs pgtest.Replicated
}

func newReplicaFixture(t *testing.T, delay time.Duration) replicaFixture {
	t.Helper()
	rs := pgtest.NewReplicated(t, delay)
	store := newReplicaStore(t, rs)
	tenant := pgtest.CreateTenant(t, rs.PrimaryPool, "acme")
	user := pgtest.CreateUser(t, rs.PrimaryPool, "alice@acme.example", tenant)
	return replicaFixture{fixture: fixture{pool: rs.PrimaryPool, store: store, user: user, tenant: tenant}, rs: rs}
}

// newReplicaStore is one app instance: pools of its own on both servers. It
// logs to the test's output: a replica it skipped says why.
func newReplicaStore(t *testing.T, rs pgtest.Replicated) *pgstore.Store {
	t.Helper()
	store, err := pgstore.New(pgtest.NewServerPool(t, rs.Primary), pgstore.Config{
		ReadPool: pgtest.NewServerPool(t, rs.Standby), ReplicaTimeout: testReplicaTimeout, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// replicaActive reads is_active on the standby, behind the store's back.
func (f replicaFixture) replicaActive(t *testing.T, hash string) (active, found bool) {
	t.Helper()
	err := f.rs.StandbyPool.QueryRow(context.Background(),
		"SELECT is_active FROM sessions WHERE session_token_hash = $1", hash).Scan(&active)
	if err != nil {
		return false, false
	}
	return active, true
}

// pauseReplay stops the standby replaying WAL until t ends: a replica that
// stays behind however long the test takes, where an apply delay runs out
// on a loaded machine.
func (f replicaFixture) pauseReplay(t *testing.T) {
	t.Helper()
	if _, err := f.rs.StandbyPool.Exec(t.Context(), "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = f.rs.StandbyPool.Exec(context.Background(), "SELECT pg_wal_replay_resume()") })
	eventually(t, "the standby's replay pauses", func() bool {
		var state string
		err := f.rs.StandbyPool.QueryRow(context.Background(), "SELECT pg_get_wal_replay_pause_state()").Scan(&state)
		return err == nil && state == "paused"
	})
}

// waitReplayed waits until the standby has everything the primary has now.
func (f replicaFixture) waitReplayed(t *testing.T) {
	t.Helper()
	var pos string
	if err := f.pool.QueryRow(context.Background(), "SELECT pg_current_wal_insert_lsn()::text").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the standby replays", func() bool {
		var ok bool
		err := f.rs.StandbyPool.QueryRow(context.Background(), "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", pos).Scan(&ok)
		return err == nil && ok
	})
}

func TestReplicaConfig(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	for _, cfg := range []pgstore.Config{
		{ReadPool: pool},
		{ReadPool: pgtest.NewPool(t), ReplayWait: -time.Second},
		{ReadPool: pgtest.NewPool(t), ReplicaTimeout: -time.Second},
	} {
		if _, err := pgstore.New(pool, cfg); !errors.Is(err, pgstore.ErrInvalidArgument) {
			t.Errorf("New(%+v) = %v; want ErrInvalidArgument", cfg, err)
		}
	}
}

// TestReplicaReadPath: which answers the replica gives alone and which go
// to the primary, with a replica that stops replaying after the revoke.
func TestReplicaReadPath(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	ctx := t.Context()
	cp := sessionguard.Scope{AppType: sessionguard.ControlPanel}

	replicated, _ := f.create(t, nil)
	revoked, _ := f.create(t, nil)
	tenantApp, _ := f.create(t, func(n *sessionguard.NewSession) {
		n.AppType, n.TenantID = sessionguard.TenantApp, f.tenant
	})
	idle, _ := f.create(t, nil)
	f.age(t, idle, 5*time.Hour, 5*time.Hour-time.Minute) // idle, not yet recorded
	if _, err := f.store.Revoke(ctx, revoked, sessionguard.ReasonLogout); err != nil {
		t.Fatal(err) // waits for the replica, so everything above is there too
	}
	f.pauseReplay(t)
	fresh, _ := f.create(t, nil) // "created since" must still be missing on the replica at its turn
	primaryOnly, err := pgstore.New(f.pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		hash     string
		validate bool
		want     sessionguard.State
		replica  bool // answered by the replica alone
	}{
		{"valid, replayed: replica", replicated, true, sessionguard.StateValid, true},
		{"valid, replayed, peek: replica", replicated, false, sessionguard.StateValid, true},
		{"revoked: replica (ended is final)", revoked, true, sessionguard.StateRevoked, true},
		{"wrong app: replica (never changes)", tenantApp, true, sessionguard.StateWrongApp, true},
		{"created since: primary", fresh, true, sessionguard.StateValid, false},
		{"unknown: primary", newHash(t), false, sessionguard.StateUnknown, false},
		{"idle on the clock, peek: primary", idle, false, sessionguard.StateIdle, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.store.ReplicaStats()
			check := f.store.Peek
			if tt.validate {
				check = f.store.Validate
			}
			st, err := check(ctx, tt.hash, cp)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.want {
				t.Errorf("state = %q; want %q", st.State, tt.want)
			}
			after := f.store.ReplicaStats()
			served, fellBack := after.Served-before.Served, after.Fallbacks-before.Fallbacks
			if tt.replica && (served != 1 || fellBack != 0) || !tt.replica && (served != 0 || fellBack != 1) {
				t.Errorf("served %d, fell back %d; want replica alone = %v", served, fellBack, tt.replica)
			}
			if after.Errors != 0 {
				t.Errorf("replica errors = %d", after.Errors)
			}
			// The replica's answer is the primary's, field by field.
			want, err := primaryOnly.Peek(ctx, tt.hash, cp)
			if err != nil {
				t.Fatal(err)
			}
			st.CheckedAt, want.CheckedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(st, want) {
				t.Errorf("answer %+v;\nthe primary's %+v", st, want)
			}
		})
	}
	if !f.row(t, idle).Active {
		t.Error("the peek recorded the idle expiry; a peek writes nothing")
	}
}

// TestReplicaRevokeWaitsForReplay: a revoke returns only once the replica
// has it, so the lagging replica never answers "valid" for it afterwards;
// and with ReplayWait shorter than the lag it says so, having ended the
// session all the same.
func TestReplicaRevokeWaitsForReplay(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, replicaDelay)
	ctx := t.Context()
	hash, _ := f.create(t, nil)
	f.waitReplayed(t)

	start := time.Now()
	if ended, err := f.store.Revoke(ctx, hash, sessionguard.ReasonLogout); err != nil || !ended {
		t.Fatalf("Revoke = %v, %v", ended, err)
	}
	if took := time.Since(start); took < replicaDelay {
		t.Errorf("Revoke returned after %v, before the replica's apply delay %v", took, replicaDelay)
	}
	if active, found := f.replicaActive(t, hash); !found || active {
		t.Fatalf("replica after Revoke returned: found %v, active %v; want the ended row", found, active)
	}

	short, err := pgstore.New(f.pool, pgstore.Config{ReadPool: f.rs.StandbyPool, ReplayWait: 50 * time.Millisecond, ReplicaTimeout: testReplicaTimeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := f.create(t, nil)
	f.waitReplayed(t)
	ended, err := short.Revoke(ctx, other, sessionguard.ReasonLogout)
	if !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("Revoke with a short ReplayWait = %v, %v; want true, ErrReplicaBehind", ended, err)
	}
	if f.row(t, other).Active {
		t.Fatal("the session is still active on the primary")
	}
	// This instance does not trust the replica until it has caught up.
	if st := mustValidate(t, short, other, sessionguard.Scope{}); st.State != sessionguard.StateRevoked {
		t.Errorf("Validate right after = %q; want revoked", st.State)
	}
}

// TestReplicaForeignRevokeFencedByCache: a session ended outside this
// instance (plain SQL on the primary) stops being "valid" here as soon as
// the Cache's listener hears of it, although the replica still has it
// active: the listener raised the fence past the revocation.
func TestReplicaForeignRevokeFencedByCache(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	// A listener whose ping times out on a loaded machine reconnects and
	// fences every session until replay resumes, which is right but leaves
	// the replica nothing to serve at the end: pings 5 s apart, not 1 s.
	c := newCache(t, f.store, pgstore.CacheConfig{Logger: testLogger(t), HealthCheckInterval: 5 * time.Second})
	runCache(t, c)
	hash, _ := f.create(t, nil)
	other, _ := f.create(t, nil)
	f.waitReplayed(t)
	if st := mustValidate(t, f.store, hash, sessionguard.Scope{}); st.State != sessionguard.StateValid {
		t.Fatalf("before: %q", st.State)
	}
	f.pauseReplay(t) // behind however long the listener takes
	if _, err := f.pool.Exec(t.Context(), "SELECT revoke_session($1, 'admin_revoke')", hash); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the instance refuses the session", func() bool {
		return mustValidate(t, c, hash, sessionguard.Scope{}).State == sessionguard.StateRevoked
	})
	if active, _ := f.replicaActive(t, hash); !active {
		t.Fatal("the replica replayed the revocation while paused; the test proves nothing")
	}
	if st := mustValidate(t, f.store, hash, sessionguard.Scope{}); st.State != sessionguard.StateRevoked {
		t.Errorf("store without the cache: %q; want revoked", st.State)
	}
	// The fence is that session's alone: the replica still answers for others.
	before := f.store.ReplicaStats()
	if st, err := f.store.Peek(t.Context(), other, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid {
		t.Fatalf("another session: %q, %v", st.State, err)
	}
	if served := f.store.ReplicaStats().Served - before.Served; served != 1 {
		t.Errorf("another session's check was not answered by the replica (served %d)", served)
	}
}

// TestReplicaFenceScope: a revocation of one session (Revoke, RevokeSession)
// fences that session alone on this instance, one that may end many
// (RevokeAll) fences every session, until the replica has replayed it. A
// ReplayWait shorter than the replica's lag makes the revokes return before
// that.
func TestReplicaFenceScope(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, slowReplicaDelay)
	ctx := t.Context()
	short, err := pgstore.New(f.pool, pgstore.Config{ReadPool: f.rs.StandbyPool, ReplayWait: 50 * time.Millisecond, ReplicaTimeout: testReplicaTimeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	bob := pgtest.CreateUser(t, f.pool, "bob@acme.example", 0)
	byHash, _ := f.create(t, nil)
	_, byID := f.create(t, nil)
	bystander, _ := f.create(t, nil)
	bobs, _ := f.create(t, func(n *sessionguard.NewSession) { n.UserID = bob })
	f.waitReplayed(t)

	// answeredByReplica peeks at hash through short and reports its state
	// and whether the replica answered alone.
	answeredByReplica := func(hash string) (sessionguard.State, bool) {
		t.Helper()
		before := short.ReplicaStats()
		st, err := short.Peek(ctx, hash, sessionguard.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		return st.State, short.ReplicaStats().Served > before.Served
	}
	if _, err := short.Revoke(ctx, byHash, sessionguard.ReasonLogout); !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("Revoke: %v; want ErrReplicaBehind", err)
	}
	if _, err := short.RevokeSession(ctx, byID.ID, sessionguard.ReasonAdminRevoke); !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("RevokeSession: %v; want ErrReplicaBehind", err)
	}
	for _, c := range []struct {
		name    string
		hash    string
		state   sessionguard.State
		replica bool
	}{
		{"revoked by hash: primary", byHash, sessionguard.StateRevoked, false},
		{"bystander: replica", bystander, sessionguard.StateValid, true},
	} {
		if state, replica := answeredByReplica(c.hash); state != c.state || replica != c.replica {
			t.Errorf("%s: %q, replica %v; want %q, %v", c.name, state, replica, c.state, c.replica)
		}
	}
	if n, err := short.RevokeAll(ctx, bob, sessionguard.ReasonPasswordChange); n != 1 || !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("RevokeAll = %d, %v; want 1, ErrReplicaBehind", n, err)
	}
	for _, hash := range []string{bobs, bystander} {
		if state, replica := answeredByReplica(hash); replica {
			t.Errorf("after RevokeAll: %q answered by the replica; want every session fenced", state)
		}
	}
	f.waitReplayed(t)
	if state, replica := answeredByReplica(bystander); state != sessionguard.StateValid || !replica {
		t.Errorf("once replayed: %q, replica %v; want valid from the replica", state, replica)
	}
}

// TestReplicaRevocationUnderLoad: two instances validate and peek a pool of
// sessions through their Stores and a replica that lags by replicaDelay
// while revocations go through both; no check that starts after a revoke
// returned may pass. Instance B runs a Cache's listener, which fences its
// Store on the notifications of A's revocations, and revokes through the
// Cache; its checks go to the Store, not to the Cache's memory: a Cache
// forgets a session revoked elsewhere when the notification arrives, not
// when the revoke returns (a window of milliseconds, which a machine under
// heavy load stretched past the replica's delay in one CI run). It logs the
// share of checks the replica answered and the latencies with and without
// the replica.
func TestReplicaRevocationUnderLoad(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, replicaDelay)
	ctx := t.Context()
	storeB := newReplicaStore(t, f.rs)
	cacheB := newCache(t, storeB, pgstore.CacheConfig{Logger: testLogger(t)})
	runCache(t, cacheB)
	instances := []validator{f.store, storeB}
	primaryOnly, err := pgstore.New(f.pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}

	const sessions, revocations = 200, 40
	hashes := make([]string, sessions)
	for i := range hashes {
		hashes[i], _ = f.create(t, nil)
	}
	f.waitReplayed(t)

	// Latency without revocations: the primary alone, then the replica,
	// same sessions, same workers, one instance.
	base := checkLoad(t, []validator{primaryOnly}, hashes, nil, 500*time.Millisecond)
	before := f.store.ReplicaStats()
	repl := checkLoad(t, []validator{f.store}, hashes, nil, 500*time.Millisecond)
	quietShare := share(f.store.ReplicaStats(), before)

	aBefore := f.store.ReplicaStats()
	var revokedAt sync.Map // hash -> time the revoke returned
	stop := make(chan struct{})
	var loadRes loadResult
	var wg sync.WaitGroup
	wg.Go(func() { loadRes = checkLoad(t, instances, hashes, &revokedAt, 0, stop) })
	order := rand.Perm(sessions)[:revocations]
	var revokeTimes []time.Duration
	for i, k := range order {
		var revoke func(context.Context, string, string) (bool, error) = f.store.Revoke
		if i%2 == 1 {
			revoke = cacheB.Revoke
		}
		start := time.Now()
		ended, err := revoke(ctx, hashes[k], sessionguard.ReasonAdminRevoke)
		if err != nil || !ended {
			t.Fatalf("revoke: %v, %v", ended, err)
		}
		revokedAt.Store(hashes[k], time.Now())
		revokeTimes = append(revokeTimes, time.Since(start))
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()

	a, b := f.store.ReplicaStats(), storeB.ReplicaStats()
	served, fellBack := a.Served-aBefore.Served+b.Served, a.Fallbacks-aBefore.Fallbacks+b.Fallbacks
	t.Logf("replica delay %v, %d sessions, %d revocations over 2 instances", replicaDelay, sessions, revocations)
	t.Logf("checks: %d, passes after revoke: %d, refusals after revoke: %d", loadRes.checks, loadRes.passesAfterRevoke, loadRes.refusedAfterRevoke)
	t.Logf("under revocations, store checks answered by the replica: %d of %d (%.1f%%), errors %d",
		served, served+fellBack, 100*float64(served)/float64(max(served+fellBack, 1)), a.Errors+b.Errors)
	t.Logf("without revocations: primary only p50 %v p99 %v; with the replica p50 %v p99 %v, %.1f%% answered by it",
		base.p(0.50), base.p(0.99), repl.p(0.50), repl.p(0.99), quietShare)
	t.Logf("under revocations, store A: p50 %v p99 %v", loadRes.p(0.50), loadRes.p(0.99))
	slices.Sort(revokeTimes)
	t.Logf("revoke (waits for replay): p50 %v max %v", revokeTimes[len(revokeTimes)/2], revokeTimes[len(revokeTimes)-1])

	if loadRes.passesAfterRevoke != 0 {
		t.Errorf("%d checks passed a session after its revoke had returned; want 0", loadRes.passesAfterRevoke)
	}
	if loadRes.refusedAfterRevoke == 0 {
		t.Error("no check ran after a revoke: the load proves nothing")
	}
	if served == 0 {
		t.Error("the replica answered nothing")
	}
	if a.Errors+b.Errors != 0 {
		t.Errorf("replica errors: %d", a.Errors+b.Errors)
	}
}

// share is the percentage of store checks between two stats that the
// replica answered alone.
func share(after, before pgstore.ReplicaStats) float64 {
	served, fellBack := after.Served-before.Served, after.Fallbacks-before.Fallbacks
	return 100 * float64(served) / float64(max(served+fellBack, 1))
}

type loadResult struct {
	checks, passesAfterRevoke, refusedAfterRevoke int64
	latencies                                     []time.Duration // of instances[0]'s checks
}

func (r loadResult) p(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(q*float64(len(r.latencies)-1))]
}

// checkLoad runs four workers per instance, each validating or peeking a
// random session, for d or until stop closes. A check that starts after the
// session's revoke returned must refuse it.
func checkLoad(t *testing.T, instances []validator, hashes []string, revokedAt *sync.Map, d time.Duration, stop ...chan struct{}) loadResult {
	t.Helper()
	var (
		res       loadResult
		checks    atomic.Int64
		passes    atomic.Int64
		refusals  atomic.Int64
		mu        sync.Mutex
		failed    atomic.Value
		wg        sync.WaitGroup
		deadline  = time.Now().Add(d)
		stopped   = func() bool { return d > 0 && time.Now().After(deadline) }
		stopChan  chan struct{}
		peekRatio = 4 // one check in four is a peek
	)
	if len(stop) > 0 {
		stopChan = stop[0]
		stopped = func() bool {
			select {
			case <-stopChan:
				return true
			default:
				return false
			}
		}
	}
	for i, v := range instances {
		for w := range 4 {
			wg.Go(func() {
				var lat []time.Duration
				for n := 0; !stopped(); n++ {
					hash := hashes[rand.N(len(hashes))]
					start := time.Now()
					var revokedBefore bool
					if revokedAt != nil {
						_, revokedBefore = revokedAt.Load(hash)
					}
					check := v.Validate
					if p, ok := v.(interface {
						Peek(context.Context, string, sessionguard.Scope) (sessionguard.Status, error)
					}); ok && n%peekRatio == 0 {
						check = p.Peek
					}
					st, err := check(context.Background(), hash, sessionguard.Scope{})
					if err != nil {
						failed.Store(fmt.Sprintf("instance %d worker %d: %v", i, w, err))
						return
					}
					if i == 0 {
						lat = append(lat, time.Since(start))
					}
					checks.Add(1)
					if revokedBefore {
						if st.State == sessionguard.StateValid {
							passes.Add(1)
						} else {
							refusals.Add(1)
						}
					}
				}
				mu.Lock()
				res.latencies = append(res.latencies, lat...)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if msg := failed.Load(); msg != nil {
		t.Error(msg)
	}
	slices.Sort(res.latencies)
	res.checks, res.passesAfterRevoke, res.refusedAfterRevoke = checks.Load(), passes.Load(), refusals.Load()
	return res
}

// TestReplicaReplayPositionPredatesTheRow: the replay position that admits a
// replica's "valid" must be one the row's snapshot already contains. Here
// the replica reads the row (replay paused: still active), then replays the
// revocation while the statement is still running; a position read after
// the row would claim the revocation was seen and let it through after
// Revoke returned. (A view in a schema first on the read pool's search_path
// holds the statement between its snapshot and its end.)
func TestReplicaReplayPositionPredatesTheRow(t *testing.T) {
	t.Parallel()
	h := newHeldReplicaRead(t, `CREATE SCHEMA held;
		CREATE FUNCTION held.hold() RETURNS boolean VOLATILE LANGUAGE sql AS 'SELECT true FROM pg_sleep(%g)';
		CREATE VIEW held.sessions AS SELECT * FROM public.sessions WHERE held.hold()`,
		map[string]string{"search_path": "held, public"})
	if st, err := h.store.Peek(t.Context(), h.hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid ||
		h.store.ReplicaStats().Served != 1 {
		t.Fatalf("before: %q, %v, %+v; want valid from the replica", st.State, err, h.store.ReplicaStats())
	}
	h.revokeWhileHeld(t)
}

// TestReplicaReauthenticateFencesTheOldToken: a re-authentication ends the
// old token as a revoke ends a session. Once Reauthenticate returned, the
// replica has replayed the rotation (or, past ReplayWait, it reports
// ErrReplicaBehind, rotation done) and this instance refuses the old token
// although a lagging replica still has it on a live row.
func TestReplicaReauthenticateFencesTheOldToken(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, replicaDelay)
	ctx := t.Context()
	rotate := func(store *pgstore.Store, old string, info sessionguard.SessionInfo) (string, error) {
		t.Helper()
		next := newHash(t)
		got, ok, err := store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: info.ID, OldTokenHash: old, NewTokenHash: next})
		if !ok || got.ID != info.ID {
			t.Fatalf("Reauthenticate = %+v, %v, %v; want the session rotated", got, ok, err)
		}
		return next, err
	}

	old, info := f.create(t, nil)
	f.waitReplayed(t)
	if _, err := rotate(f.store, old, info); err != nil {
		t.Fatal(err)
	}
	if active, found := f.replicaActive(t, old); found {
		t.Errorf("replica after Reauthenticate returned: old token found (active %v); want it replayed away", active)
	}

	short, err := pgstore.New(f.pool, pgstore.Config{ReadPool: f.rs.StandbyPool, ReplayWait: 50 * time.Millisecond, ReplicaTimeout: testReplicaTimeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	old, info = f.create(t, nil)
	f.waitReplayed(t)
	if _, err := f.rs.StandbyPool.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = f.rs.StandbyPool.Exec(context.Background(), "SELECT pg_wal_replay_resume()") })
	next, err := rotate(short, old, info)
	if !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Errorf("Reauthenticate with the replica paused: %v; want ErrReplicaBehind", err)
	}
	if active, _ := f.replicaActive(t, old); !active {
		t.Fatal("the replica replayed the rotation; the test proves nothing")
	}
	for _, c := range []struct {
		hash string
		want sessionguard.State
	}{{old, sessionguard.StateUnknown}, {next, sessionguard.StateValid}} {
		if st := mustValidate(t, short, c.hash, sessionguard.Scope{}); st.State != c.want {
			t.Errorf("Validate right after: %q; want %q (replica stats %+v)", st.State, c.want, short.ReplicaStats())
		}
	}
}

// TestReplicaSessionLimitFencesTheEvicted: a sign-in at its session limit
// ends the least recently active session, a revocation like any other:
// once Create returned (past ReplayWait, with ErrReplicaBehind and the new
// session), this instance refuses the ended session although a lagging
// replica still has it live.
func TestReplicaSessionLimitFencesTheEvicted(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	ctx := t.Context()
	short, err := pgstore.New(f.pool, pgstore.Config{ReadPool: f.rs.StandbyPool, ReplayWait: 50 * time.Millisecond, ReplicaTimeout: testReplicaTimeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	limited := func(n *sessionguard.NewSession) { n.Limit = sessionguard.SessionLimit{Max: 1} }
	evicted, _ := f.create(t, limited)
	f.waitReplayed(t)
	if st := mustValidate(t, short, evicted, sessionguard.Scope{}); st.State != sessionguard.StateValid || short.ReplicaStats().Served != 1 {
		t.Fatalf("before: %q, %+v; want valid from the replica", st.State, short.ReplicaStats())
	}
	if _, err := f.rs.StandbyPool.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = f.rs.StandbyPool.Exec(context.Background(), "SELECT pg_wal_replay_resume()") })
	n := sessionguard.NewSession{TokenHash: newHash(t), UserID: f.user, AppType: sessionguard.ControlPanel, Limit: sessionguard.SessionLimit{Max: 1}}
	info, err := short.Create(ctx, n)
	if !errors.Is(err, sessionguard.ErrReplicaBehind) || info.ID == "" {
		t.Errorf("Create at the limit with the replica paused = %+v, %v; want the new session and ErrReplicaBehind", info, err)
	}
	if active, _ := f.replicaActive(t, evicted); !active {
		t.Fatal("the replica replayed the eviction; the test proves nothing")
	}
	if st := mustValidate(t, short, evicted, sessionguard.Scope{}); st.State != sessionguard.StateRevoked || st.EndReason != sessionguard.ReasonSessionLimit {
		t.Errorf("evicted session right after Create: %q (%q); want revoked (session_limit)", st.State, st.EndReason)
	}
	if st := mustValidate(t, short, n.TokenHash, sessionguard.Scope{}); st.State != sessionguard.StateValid {
		t.Errorf("new session: %q; want valid", st.State)
	}
}

// TestReplicaReplayPositionPredatesTheRowUnderRepeatableRead: the position
// and the row are read in one batch, one transaction until its Sync. A
// ReadPool whose sessions default to REPEATABLE READ (a standby's
// postgresql.conf copied from a primary that sets
// default_transaction_isolation) reads the row with the snapshot the
// position statement took before it read the position, so such a position
// must not admit the row's "valid". Here the position statement is held (a
// pg_is_in_recovery in a schema searched before pg_catalog sleeps) while
// the replica replays the revocation.
func TestReplicaReplayPositionPredatesTheRowUnderRepeatableRead(t *testing.T) {
	t.Parallel()
	newHeldReplicaRead(t, `CREATE SCHEMA held;
		CREATE FUNCTION held.pg_is_in_recovery() RETURNS boolean VOLATILE LANGUAGE sql
			AS 'SELECT pg_catalog.pg_is_in_recovery() FROM pg_catalog.pg_sleep(%g)'`,
		map[string]string{"default_transaction_isolation": "repeatable read", "search_path": "held, pg_catalog, public"}).
		revokeWhileHeld(t)
}

// heldReplicaRead is the scenario of the two tests above: a Store whose
// read pool on the standby has params, where holdSQL (run on the primary, %g
// the seconds to hold) makes a replica read sleep after its snapshot is
// taken, and one live session, replayed.
type heldReplicaRead struct {
	rs    pgtest.Replicated
	f     replicaFixture
	store *pgstore.Store
	hash  string
}

func newHeldReplicaRead(t *testing.T, holdSQL string, params map[string]string) heldReplicaRead {
	t.Helper()
	rs := pgtest.NewReplicated(t, 0)
	ctx := t.Context()
	const hold = 3 * time.Second
	if _, err := rs.PrimaryPool.Exec(ctx, fmt.Sprintf(holdSQL, hold.Seconds())); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(rs.Standby.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(cfg.ConnConfig.RuntimeParams, params)
	readPool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(readPool.Close)
	store, err := pgstore.New(pgtest.NewServerPool(t, rs.Primary), pgstore.Config{
		// The held read takes hold; ReplicaTimeout must not cut it short.
		ReadPool: readPool, ReplayWait: 100 * time.Millisecond, ReplicaTimeout: time.Minute, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	user := pgtest.CreateUser(t, rs.PrimaryPool, "alice@acme.example", 0)
	f := replicaFixture{fixture: fixture{pool: rs.PrimaryPool, store: store, user: user}, rs: rs}
	hash, _ := f.create(t, nil)
	f.waitReplayed(t)
	return heldReplicaRead{rs: rs, f: f, store: store, hash: hash}
}

// revokeWhileHeld revokes the session while replay is paused, starts a
// Peek, and lets the replica replay the revocation while that Peek's read
// sleeps: the Peek must answer revoked.
func (h heldReplicaRead) revokeWhileHeld(t *testing.T) {
	t.Helper()
	ctx, rs, store, hash := t.Context(), h.rs, h.store, h.hash
	if _, err := rs.StandbyPool.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	if ended, err := store.Revoke(ctx, hash, sessionguard.ReasonLogout); !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("Revoke = %v, %v; want true, ErrReplicaBehind", ended, err)
	}
	type answer struct {
		st  sessionguard.Status
		err error
	}
	peeked := make(chan answer, 1)
	go func() {
		st, err := store.Peek(ctx, hash, sessionguard.Scope{})
		peeked <- answer{st, err}
	}()
	// Once the read sleeps, its snapshot is taken: let the replica replay
	// the revocation meanwhile.
	eventually(t, "the replica's read holds", func() bool {
		var n int
		err := rs.StandbyPool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event = 'PgSleep' AND pid <> pg_backend_pid()`).Scan(&n)
		return err == nil && n == 1
	})
	if _, err := rs.StandbyPool.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	h.f.waitReplayed(t)
	var a answer
	select {
	case a = <-peeked:
		t.Fatalf("the read ended (%q, %v) before the replica replayed the revocation; the test proves nothing", a.st.State, a.err)
	default:
		a = <-peeked
	}
	if a.err != nil || a.st.State != sessionguard.StateRevoked {
		t.Errorf("Peek of the revoked session = %q, %v; want revoked (replica stats %+v)", a.st.State, a.err, store.ReplicaStats())
	}
}
