package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestReplicaLeftOnTheOldTimeline: a failover promotes standby B while the
// read replica S, a standby of the old primary too, had replayed more of
// the old primary's WAL than B. S cannot follow B (its history went past the
// fork), stays in recovery and keeps answering from the old primary's data,
// at WAL positions past everything B writes for a while. Its replay position
// is no proof that it replayed a revocation made on B: a revoke through the
// Store must not return as if S had it, and S's "valid" must not count.
func TestReplicaLeftOnTheOldTimeline(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	primary, primaryPool := pgtest.NewIsolatedServer(t)
	standby := func(name string) *pgtemp.Server {
		sb, err := primary.StartStandby(ctx, pgtemp.StandbyOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { _ = sb.Close() })
		return sb
	}
	failoverTarget, readReplica := standby("failover target"), standby("read replica")
	tenant := pgtest.CreateTenant(t, primaryPool, "acme")
	onPrimary, err := pgstore.New(primaryPool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{pool: primaryPool, store: onPrimary, user: pgtest.CreateUser(t, primaryPool, "alice@acme.example", tenant), tenant: tenant}
	hash, _ := f.create(t, nil)
	targetPool, replicaPool := pgtest.NewServerPool(t, failoverTarget), pgtest.NewServerPool(t, readReplica)
	waitReplayed(t, primaryPool, targetPool, replicaPool)

	// The failover target stops receiving; the read replica goes on, two
	// WAL segments further.
	if err := failoverTarget.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := primaryPool.Exec(ctx, "SELECT txid_current(), pg_switch_wal()"); err != nil {
			t.Fatal(err)
		}
	}
	waitReplayed(t, primaryPool, replicaPool)
	if err := primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := failoverTarget.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := failoverTarget.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	targetPool.Reset()

	store, err := pgstore.New(targetPool, pgstore.Config{ReadPool: replicaPool, ReplayWait: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := store.Revoke(ctx, hash, sessionguard.ReasonLogout)
	if !ended {
		t.Fatalf("Revoke on the promoted standby = %v, %v; want the session ended", ended, err)
	}
	if !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Errorf("Revoke = %v; want ErrReplicaBehind: the read replica never replays it", err)
	}
	var replicaActive bool
	if err := replicaPool.QueryRow(ctx, "SELECT is_active FROM sessions WHERE session_token_hash = $1", hash).Scan(&replicaActive); err != nil || !replicaActive {
		t.Fatalf("the read replica's row: active %v, %v; the test needs it still active", replicaActive, err)
	}
	// Another instance's Store, which revoked nothing since the failover
	// (or started after it), must not take the replica for caught up
	// either: the revoke's ErrReplicaBehind never ends, the replica never
	// replays it.
	other, err := pgstore.New(targetPool, pgstore.Config{ReadPool: replicaPool, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error){
		"Peek": store.Peek, "Validate": store.Validate, "another Store's Peek": other.Peek, "another Store's Validate": other.Validate,
	} {
		if st, err := check(ctx, hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateRevoked {
			t.Errorf("%s after the revoke = %q, %v; want revoked", name, st.State, err)
		}
	}
}

// batchCounter is a pgx tracer that counts the batches a pool sends: on a
// ReadPool, the read path's reads.
type batchCounter struct{ n atomic.Int64 }

func (c *batchCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (c *batchCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *batchCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *batchCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *batchCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// waitReplayed waits until every standby pool has replayed what the primary
// has written so far.
func waitReplayed(t *testing.T, primary *pgxpool.Pool, standbys ...*pgxpool.Pool) {
	t.Helper()
	var pos string
	if err := primary.QueryRow(t.Context(), "SELECT pg_current_wal_insert_lsn()::text").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	for _, sb := range standbys {
		eventually(t, "the standby replays", func() bool {
			var ok bool
			err := sb.QueryRow(t.Context(), "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", pos).Scan(&ok)
			return err == nil && ok
		})
	}
}

// TestReplicaCascadedThroughAFailover: the read replica is a cascaded
// standby of the failover target, so it follows the promoted standby onto
// the new timeline. Until it has made a restartpoint on that timeline its
// position proves nothing about a revocation there (it cannot be told from
// a replica left on the old timeline by an unprivileged role): the revoke
// returns ErrReplicaBehind and its "valid" does not count. Only a
// restartpoint changes that, with checkpoint_timeout (minutes) unless an
// operator runs CHECKPOINT, so the revoke returns at once rather than when
// ReplayWait runs out (it did: each sign-out ten seconds late, for
// minutes after a failover). Reads skip the replica for a second at a time
// (each one asked it first, then the primary) and a warning names the fix
// (nothing said why the replica went unused). A CHECKPOINT on the new
// primary, then on the standby, brings it back within that second, as
// README's failover steps say.
func TestReplicaCascadedThroughAFailover(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A backup taken from a standby (the cascaded one's) needs full-page
	// writes, which pgtemp turns off.
	primary, primaryPool := pgtest.NewIsolatedServerWith(t, pgtemp.Options{Settings: map[string]string{"full_page_writes": "on"}})
	if _, err := primaryPool.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	target, err := primary.StartStandby(ctx, pgtemp.StandbyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = target.Close() })
	cascaded, err := target.StartStandby(ctx, pgtemp.StandbyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cascaded.Close() })
	tenant := pgtest.CreateTenant(t, primaryPool, "acme")
	onPrimary, err := pgstore.New(primaryPool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{pool: primaryPool, store: onPrimary, user: pgtest.CreateUser(t, primaryPool, "alice@acme.example", tenant), tenant: tenant}
	revoked, _ := f.create(t, nil)
	live, _ := f.create(t, nil)
	targetPool := pgtest.NewServerPool(t, target)
	cfg, err := pgxpool.ParseConfig(cascaded.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	batches := &batchCounter{}
	cfg.ConnConfig.Tracer = batches
	replicaPool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replicaPool.Close)
	waitReplayed(t, primaryPool, targetPool, replicaPool)

	if err := primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := target.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	const replayWait = 20 * time.Second
	var log syncBuffer
	store, err := pgstore.New(targetPool, pgstore.Config{ReadPool: replicaPool, ReplayWait: replayWait,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if ended, err := store.Revoke(ctx, revoked, sessionguard.ReasonLogout); !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
		t.Fatalf("Revoke before the standby's restartpoint on the new timeline = %v, %v; want true, ErrReplicaBehind", ended, err)
	}
	if took := time.Since(start); took > replayWait/4 {
		t.Errorf("Revoke took %v; want ErrReplicaBehind at once, not when ReplayWait (%v) runs out", took, replayWait)
	}
	peek := func(hash string) (sessionguard.State, bool) {
		t.Helper()
		before := store.ReplicaStats().Served
		st, err := store.Peek(ctx, hash, sessionguard.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		return st.State, store.ReplicaStats().Served > before
	}
	before := batches.n.Load()
	for range 5 {
		if state, _ := peek(revoked); state != sessionguard.StateRevoked {
			t.Fatalf("the revoked session = %q; want revoked", state)
		}
		if state, replica := peek(live); state != sessionguard.StateValid || replica {
			t.Fatalf("the live session = %q, from the replica %v; want valid from the primary", state, replica)
		}
	}
	// Two: the second of the skip may end between the checks.
	if n := batches.n.Load() - before; n > 2 {
		t.Errorf("10 checks sent %d reads to the replica; want it skipped after the first found it off the timeline", n)
	}
	if !log.contains(`level=WARN msg="pgstore: the read pool's server has made no restartpoint on the primary's timeline yet`) {
		t.Error("no warning says why the replica goes unused")
	}

	for _, p := range []*pgxpool.Pool{targetPool, replicaPool} {
		waitReplayed(t, targetPool, replicaPool)
		if _, err := p.Exec(ctx, "CHECKPOINT"); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the replica answers after the checkpoints", func() bool {
		state, replica := peek(live)
		return state == sessionguard.StateValid && replica
	})
	if state, _ := peek(revoked); state != sessionguard.StateRevoked {
		t.Fatalf("after the checkpoints: the revoked session = %q; want revoked", state)
	}
	if _, err := store.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange); err != nil {
		t.Fatalf("RevokeAll once the standby is on the new timeline = %v; want it replayed in time", err)
	}
	if state, _ := peek(live); state != sessionguard.StateRevoked {
		t.Fatalf("after RevokeAll: %q; want revoked", state)
	}
}
