package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// auditTouches installs a test-only trigger (on this test's private
// database) that records every write of last_activity_at, and returns a
// function listing the values written for hash, in order.
func auditTouches(t *testing.T, pool *pgxpool.Pool) func(hash string) []time.Time {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		CREATE TABLE touch_audit (n BIGSERIAL PRIMARY KEY, hash TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
		CREATE FUNCTION audit_touch() RETURNS TRIGGER AS $$
		BEGIN
			INSERT INTO touch_audit (hash, at) VALUES (NEW.session_token_hash, NEW.last_activity_at);
			RETURN NULL;
		END $$ LANGUAGE plpgsql;
		CREATE TRIGGER audit_touch AFTER UPDATE ON sessions FOR EACH ROW
			WHEN (NEW.last_activity_at IS DISTINCT FROM OLD.last_activity_at) EXECUTE FUNCTION audit_touch();`)
	if err != nil {
		t.Fatal(err)
	}
	return func(hash string) []time.Time {
		t.Helper()
		rows, err := pool.Query(context.Background(), "SELECT at FROM touch_audit WHERE hash = $1 ORDER BY n", hash)
		if err != nil {
			t.Fatal(err)
		}
		at, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
}

// validator is what both a Store and a Cache offer.
type validator interface {
	Validate(ctx context.Context, tokenHash string, scope sessionguard.Scope) (sessionguard.Status, error)
}

// hammer runs Validate of hash from workers goroutines, calls times each,
// and returns every status.
func hammer(t *testing.T, vs []validator, hash string, workers, calls int) []sessionguard.Status {
	t.Helper()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []sessionguard.Status
	)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := vs[w%len(vs)]
			for range calls {
				st, err := v.Validate(context.Background(), hash, sessionguard.Scope{})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				all = append(all, st)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return all
}

// Many concurrent checks of a session whose touch is due write
// last_activity_at once, and all of them report that one write.
func TestConcurrentValidatesTouchOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{TouchInterval: time.Minute})
	touches := auditTouches(t, f.pool)
	for round := range 5 {
		hash, _ := f.create(t, nil)
		f.age(t, hash, 2*time.Minute, 2*time.Minute) // the touch is due
		before := len(touches(hash))                 // the ageing itself
		all := hammer(t, []validator{f.store}, hash, 16, 10)
		written := touches(hash)[before:]
		if len(written) != 1 {
			t.Fatalf("round %d: %d writes of last_activity_at by 160 concurrent Validates, want 1", round, len(written))
		}
		for _, st := range all {
			if !st.Valid() || !st.LastActivityAt.Equal(written[0]) {
				t.Fatalf("round %d: a Validate reported %s with last activity %v, want valid as of the one touch %v",
					round, st.State, st.LastActivityAt, written[0])
			}
		}
	}
}
