package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/pgstore"
)

// TestCleanerSkipsRowsARequestHolds: the Cleaner's batches skip rows another
// transaction has locked (a request's touch or revoke in progress) instead of
// waiting for them (README, "Cleanup"): the run ends the other expired
// sessions and purges the other old rows at once, and a later run takes the
// rows it skipped.
func TestCleanerSkipsRowsARequestHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	idleHeld, _ := f.create(t, nil)
	idleFree, _ := f.create(t, nil)
	for _, h := range []string{idleHeld, idleFree} {
		f.age(t, h, 5*time.Hour, 5*time.Hour)
	}
	oldHeld, _ := f.create(t, nil)
	oldFree, _ := f.create(t, nil)
	for _, h := range []string{oldHeld, oldFree} {
		endedAgo(t, f, h, 91*24*time.Hour)
	}

	holder, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A failing test must still end the transaction, or closing the pool
	// waits for its connection forever.
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(ctx, "SELECT 1 FROM sessions WHERE session_token_hash = ANY($1) FOR UPDATE",
		[]string{idleHeld, oldHeld}); err != nil {
		t.Fatal(err)
	}

	// Waiting for the held rows would run into this deadline.
	runCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c := newCleaner(t, f.pool, pgstore.CleanerConfig{})
	res, err := c.RunOnce(runCtx)
	if err != nil || !res.Ran || res.Idle != 1 || res.Purged != 1 {
		t.Fatalf("RunOnce beside held rows = %v, %v; want 1 ended, 1 purged", res, err)
	}
	if !f.row(t, idleHeld).Active || f.row(t, idleFree).Active {
		t.Error("the run ended the held session, or not the free one")
	}
	if !f.exists(t, oldHeld) || f.exists(t, oldFree) {
		t.Error("the run purged the held row, or not the free one")
	}

	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err = c.RunOnce(ctx); err != nil || res.Idle != 1 || res.Purged != 1 {
		t.Fatalf("RunOnce after the rows were let go = %v, %v; want the skipped ones", res, err)
	}
	if f.row(t, idleHeld).Active || f.exists(t, oldHeld) {
		t.Error("the second run left the rows the first one skipped")
	}
}
