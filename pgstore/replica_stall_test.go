package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// stalledReplicaDelay is the standby's lag in TestReplicaStalledReads: an
// ACCESS EXCLUSIVE lock the primary held for a moment is held on the standby
// until it replays the commit, this long after.
const stalledReplicaDelay = 6 * time.Second

// TestReplicaStalledReads: a replica whose reads block must not cost the
// checks their answer. Here the primary takes an ACCESS EXCLUSIVE lock on
// sessions for a moment (as DDL, a migration or a vacuum truncating the
// table does); the delayed standby replays the lock at once but its release
// only with the commit, seconds later, and every read of sessions there waits.
// Checks with a Guard's default StoreTimeout (2s) get the primary's answer
// (they got "context deadline exceeded", a 503, until the replica read was
// bounded by Config.ReplicaTimeout), and the checks after the first skip
// the replica instead of waiting for it again.
func TestReplicaStalledReads(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, stalledReplicaDelay)
	// The fixture's store waits for a slow replica (testReplicaTimeout);
	// this one has the default ReplicaTimeout, which this test is about.
	store, err := pgstore.New(f.pool, pgstore.Config{ReadPool: f.rs.StandbyPool, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := f.create(t, nil)
	f.waitReplayed(t)
	peek := func(t *testing.T) (sessionguard.State, time.Duration, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second) // middleware.DefaultStoreTimeout
		defer cancel()
		start := time.Now()
		st, err := store.Peek(ctx, hash, sessionguard.Scope{})
		return st.State, time.Since(start), err
	}
	if state, _, err := peek(t); err != nil || state != sessionguard.StateValid {
		t.Fatalf("before the lock: %q, %v; want valid", state, err)
	}
	if s := store.ReplicaStats(); s.Served != 1 {
		t.Fatalf("before the lock the replica did not answer: %+v", s)
	}

	tx, err := f.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	locked := time.Now()
	eventually(t, "the standby holds the replayed lock", func() bool {
		var n int
		err := f.rs.StandbyPool.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks
			WHERE relation = 'sessions'::regclass AND mode = 'AccessExclusiveLock' AND granted`).Scan(&n)
		return err == nil && n > 0
	})

	for i := range 3 {
		before := store.ReplicaStats()
		state, took, err := peek(t)
		if err != nil || state != sessionguard.StateValid {
			t.Fatalf("check %d while the replica is stalled: %q, %v after %v; want valid from the primary", i, state, err, took)
		}
		after := store.ReplicaStats()
		if i > 0 && after.Errors != before.Errors {
			t.Errorf("check %d waited for the stalled replica again (%+v)", i, after)
		}
		t.Logf("check %d: %v", i, took)
	}
	if time.Since(locked) >= stalledReplicaDelay {
		t.Fatalf("the checks took longer than the standby's delay (%v): the replica was perhaps no longer stalled", time.Since(locked))
	}
}
