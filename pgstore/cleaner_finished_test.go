package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/pgstore"
)

// A run that another Cleaner's batch interrupts part way says so: Ran, not
// Finished, no error. An operator's one-off purge (sessionguard cleanup
// --retention) otherwise looked complete while the rest waited for the
// application's Cleaner and its own retention. An uninterrupted run is
// Finished; one that found the lock taken from the start is neither.
func TestCleanerStoppedPartWayIsNotFinished(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	ctx := context.Background()
	if err := insertIdleExpired(ctx, f.pool, f.user, 3); err != nil {
		t.Fatal(err)
	}
	c := newCleaner(t, f.pool, pgstore.CleanerConfig{BatchSize: 1})

	// In the first batch's turn, another transaction queues for the lock:
	// PostgreSQL grants it when that batch commits, so the next batch
	// finds it taken.
	holder, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	queued := make(chan error, 1)
	first := true
	pgstore.SetInTurn(c, func() {
		if !first {
			return
		}
		first = false
		go func() {
			_, err := holder.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgstore.DefaultCleanupLockKey)
			queued <- err
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var waiting int
			if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting); err != nil {
				t.Error(err)
				return
			}
			if waiting > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Error("the holder never queued for the cleanup lock")
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	res, err := c.RunOnce(ctx)
	if err != nil || !res.Ran || res.Finished || res.Batches != 1 || res.Idle != 1 {
		t.Fatalf("RunOnce interrupted after its first batch = %+v, %v; want Ran, not Finished, 1 batch ending 1", res, err)
	}
	if err := <-queued; err != nil {
		t.Fatal(err)
	}

	if res, err = c.RunOnce(ctx); err != nil || res.Ran || res.Finished {
		t.Fatalf("RunOnce while another holds the lock = %+v, %v; want neither Ran nor Finished", res, err)
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err = c.RunOnce(ctx); err != nil || !res.Ran || !res.Finished || res.Idle != 2 {
		t.Fatalf("RunOnce after = %+v, %v; want Finished, the other 2 ended", res, err)
	}
	// Nothing left to do is still a finished run.
	if res, err = c.RunOnce(ctx); err != nil || !res.Finished {
		t.Fatalf("RunOnce with nothing to do = %+v, %v; want Finished", res, err)
	}
}
