package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

func newCleaner(t *testing.T, pool *pgxpool.Pool, cfg pgstore.CleanerConfig) *pgstore.Cleaner {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	c, err := pgstore.NewCleaner(pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cleanupCase is one session in a known state before cleanup.
type cleanupCase struct {
	name       string
	prepare    func(t *testing.T, f fixture, hash string)
	wantReason string // revoke_reason afterwards; "" = still active
	wantGone   bool   // deleted by the purge
}

func endedAgo(t *testing.T, f fixture, hash string, ago time.Duration) {
	t.Helper()
	mustRevoke(t, f, hash, sessionguard.ReasonLogout)
	if _, err := f.pool.Exec(context.Background(),
		`UPDATE sessions SET ended_at = ended_at - make_interval(secs => $2) WHERE session_token_hash = $1`,
		hash, ago.Seconds()); err != nil {
		t.Fatal(err)
	}
}

var cleanupCases = []cleanupCase{
	{"live", func(*testing.T, fixture, string) {}, "", false},
	{"idle expired", func(t *testing.T, f fixture, h string) { f.age(t, h, 4*time.Hour+time.Second, 0) }, "idle_timeout", false},
	{"absolute expired", func(t *testing.T, f fixture, h string) { f.age(t, h, 0, 8*time.Hour+time.Second) }, "absolute_timeout", false},
	{"both: absolute first", func(t *testing.T, f fixture, h string) { f.age(t, h, 5*time.Hour, 9*time.Hour) }, "absolute_timeout", false},
	{"own short idle timeout", func(t *testing.T, f fixture, h string) {
		if _, err := f.pool.Exec(context.Background(), `UPDATE sessions SET idle_timeout_seconds = 60 WHERE session_token_hash = $1`, h); err != nil {
			t.Fatal(err)
		}
		f.age(t, h, 61*time.Second, 0)
	}, "idle_timeout", false},
	{"logged out yesterday: kept", func(t *testing.T, f fixture, h string) { endedAgo(t, f, h, 24*time.Hour) }, "logout", false},
	{"ended 89 days ago: kept", func(t *testing.T, f fixture, h string) { endedAgo(t, f, h, 89*24*time.Hour) }, "logout", false},
	{"ended 91 days ago: purged", func(t *testing.T, f fixture, h string) { endedAgo(t, f, h, 91*24*time.Hour) }, "", true},
}

// prepareCleanupCases creates n sessions per case and returns their hashes by case.
func prepareCleanupCases(t *testing.T, f fixture, n int) map[string][]string {
	t.Helper()
	hashes := map[string][]string{}
	for _, tc := range cleanupCases {
		for range n {
			h, _ := f.create(t, nil)
			tc.prepare(t, f, h)
			hashes[tc.name] = append(hashes[tc.name], h)
		}
	}
	return hashes
}

func (f fixture) exists(t *testing.T, hash string) bool {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM sessions WHERE session_token_hash = $1", hash).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// The Cleaner ends the sessions cleanup_expired_sessions ends, with the same
// reasons, purges only ended rows past the retention, and does it in batches
// of at most BatchSize rows.
func TestCleanerMatchesTheSeedsCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const perCase = 3
	lib := newFixture(t, pgstore.Config{Logger: quiet})
	seed := newFixture(t, pgstore.Config{Logger: quiet})
	libHashes := prepareCleanupCases(t, lib, perCase)
	seedHashes := prepareCleanupCases(t, seed, perCase)

	var events []sessionguard.Event
	c := newCleaner(t, lib.pool, pgstore.CleanerConfig{BatchSize: 2, OnEvent: func(e sessionguard.Event) { events = append(events, e) }})
	res, err := c.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cleanup: %v", res)
	if _, err := seed.store.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}

	wantAbs, wantIdle, wantPurged := 0, 0, 0
	for _, tc := range cleanupCases {
		t.Run(tc.name, func(t *testing.T) {
			for i, h := range libHashes[tc.name] {
				if tc.wantGone {
					if lib.exists(t, h) {
						t.Fatalf("row %d was not purged", i)
					}
					if !seed.exists(t, seedHashes[tc.name][i]) {
						t.Fatal("the seed's cleanup deletes rows?")
					}
					continue
				}
				got, ref := lib.row(t, h), seed.row(t, seedHashes[tc.name][i])
				if got.reason() != tc.wantReason || got.Active != (tc.wantReason == "") {
					t.Fatalf("row %d: active=%v reason=%q, want reason %q", i, got.Active, got.reason(), tc.wantReason)
				}
				if got.reason() != ref.reason() || got.Active != ref.Active || got.Ended != ref.Ended {
					t.Fatalf("row %d differs from the seed's cleanup: %+v %q vs %+v %q", i, got, got.reason(), ref, ref.reason())
				}
			}
		})
		switch {
		case tc.wantGone:
			wantPurged += perCase
		case tc.name == "live" || tc.wantReason == "logout":
		case tc.wantReason == "absolute_timeout":
			wantAbs += perCase
		case tc.wantReason == "idle_timeout":
			wantIdle += perCase
		}
	}
	if !res.Ran || res.Absolute != wantAbs || res.Idle != wantIdle || res.Purged != wantPurged {
		t.Fatalf("result %v, want absolute=%d idle=%d purged=%d", res, wantAbs, wantIdle, wantPurged)
	}
	// Batches of 2: every batch but the last of each phase is full.
	if min := (wantAbs+wantIdle)/2 + 1 + wantPurged/2 + 1; res.Batches < min {
		t.Fatalf("%d batches for batch size 2, want at least %d", res.Batches, min)
	}
	counts := map[string]int{}
	for _, e := range events {
		counts[string(e.Kind)+"/"+e.Reason] += e.Count
	}
	if counts["expired/absolute_timeout"] != wantAbs || counts["expired/idle_timeout"] != wantIdle || counts["purged/"] != wantPurged {
		t.Fatalf("events %v", counts)
	}

	// A second run finds nothing.
	res, err = c.RunOnce(ctx)
	if err != nil || !res.Ran || res.Absolute+res.Idle+res.Purged != 0 {
		t.Fatalf("second run: %v, %v", res, err)
	}
}

// insertIdleExpired inserts n active sessions of user whose idle timeout has
// passed. It does not use t, so goroutines may call it.
func insertIdleExpired(ctx context.Context, pool *pgxpool.Pool, user int64, n int) error {
	_, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, last_activity_at)
		SELECT $1, encode(sha256(gen_random_uuid()::text::bytea), 'hex'), now() + interval '1 hour', now() - interval '5 hours'
		FROM generate_series(1, $2)`, user, n)
	return err
}

// The expiry reads each active session once, a page of BatchSize at a time
// in id order, whatever mix of live and expired sessions the pages hold: the
// number of statements is the number of pages of the active set, and every
// expired session among them is ended in that one run. (Starting each batch
// from the beginning of an index would instead need one statement per
// BatchSize expired sessions, each rereading the live ones before them.)
func TestCleanerWalksTheActiveSessionsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name           string
		live, expired  int
		batch          int
		wantStatements int
	}{
		{"mixed, batch 2", 10, 7, 2, 17/2 + 1},
		{"mixed, batch 3", 10, 7, 3, 17/3 + 1},
		{"only live", 5, 0, 2, 5/2 + 1},
		{"only expired, exact pages", 0, 8, 2, 8/2 + 1},
		{"nothing active", 0, 0, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, pgstore.Config{Logger: quiet})
			var live []string
			for range tt.live {
				h, _ := f.create(t, nil)
				live = append(live, h)
			}
			if err := insertIdleExpired(ctx, f.pool, f.user, tt.expired); err != nil {
				t.Fatal(err)
			}
			res, err := newCleaner(t, f.pool, pgstore.CleanerConfig{BatchSize: tt.batch, Retention: -1}).RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Idle != tt.expired || res.Absolute != 0 || res.Batches != tt.wantStatements {
				t.Fatalf("RunOnce = %v, want idle=%d in %d statements", res, tt.expired, tt.wantStatements)
			}
			for i, h := range live {
				if !f.row(t, h).Active {
					t.Fatalf("live session %d was ended", i)
				}
			}
			var active int
			if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE is_active").Scan(&active); err != nil {
				t.Fatal(err)
			}
			if active != tt.live {
				t.Fatalf("%d sessions active after the run, want the %d live ones", active, tt.live)
			}
		})
	}
}

func TestCleanerRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	old, _ := f.create(t, nil)
	endedAgo(t, f, old, 2*time.Hour)
	recent, _ := f.create(t, nil)
	endedAgo(t, f, recent, 30*time.Minute)

	if _, err := newCleaner(t, f.pool, pgstore.CleanerConfig{Retention: -1}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.exists(t, old) {
		t.Fatal("negative Retention purged a row")
	}
	res, err := newCleaner(t, f.pool, pgstore.CleanerConfig{Retention: time.Hour}).RunOnce(ctx)
	if err != nil || res.Purged != 1 {
		t.Fatalf("RunOnce = %v, %v; want 1 purged", res, err)
	}
	if f.exists(t, old) || !f.exists(t, recent) {
		t.Fatal("retention of 1h: wrong rows purged")
	}
}

// Several Cleaners on one database never run batches at the same time, and
// each expired session is ended by exactly one of them.
func TestCleanersTakeTurns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	testCleanersTakeTurns(t, f.pool)
}

func testCleanersTakeTurns(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	user := pgtest.CreateUser(t, pool, "turns@example.com", 0)
	const cleaners, rounds, perRound = 4, 8, 3

	var inside, overlaps, batches, ran, skipped, ended atomic.Int64
	inTurn := func() {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		batches.Add(1)
		time.Sleep(5 * time.Millisecond) // widen the window for a second cleaner
		inside.Add(-1)
	}
	onEvent := func(e sessionguard.Event) { ended.Add(int64(e.Count)) }
	var wg sync.WaitGroup
	errs := make(chan error, cleaners*rounds)
	for range cleaners {
		c := newCleaner(t, pool, pgstore.CleanerConfig{BatchSize: 2, OnEvent: onEvent})
		pgstore.SetInTurn(c, inTurn)
		wg.Go(func() {
			for range rounds {
				if err := insertIdleExpired(ctx, pool, user, perRound); err != nil {
					errs <- err
					return
				}
				res, err := c.RunOnce(ctx)
				if err != nil {
					errs <- err
					return
				}
				if res.Ran {
					ran.Add(1)
				} else {
					skipped.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("runs: %d ran, %d skipped (another held the lock); %d batches", ran.Load(), skipped.Load(), batches.Load())
	if overlaps.Load() != 0 {
		t.Fatalf("%d times two cleaners' batches held the lock at once", overlaps.Load())
	}
	// Whatever a skipped or stopped run left behind, one more run ends it.
	if _, err := newCleaner(t, pool, pgstore.CleanerConfig{OnEvent: onEvent}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if want := int64(cleaners * rounds * perRound); ended.Load() != want {
		t.Fatalf("%d sessions ended in all, want each of the %d exactly once", ended.Load(), want)
	}
}

// While another Cleaner's batch holds the lock, a Cleaner does nothing and
// says so; afterwards the lock is free again.
func TestCleanerSkipsWhileLocked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	testCleanerSkipsWhileLocked(t, f, f.pool)
}

// testCleanerSkipsWhileLocked runs the cleaner on pool (f.pool, or the same
// database through PgBouncer).
func testCleanerSkipsWhileLocked(t *testing.T, f fixture, pool *pgxpool.Pool) {
	ctx := context.Background()
	h, _ := f.create(t, nil)
	f.age(t, h, 5*time.Hour, 0)

	holder, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A failing test must still end the transaction, or closing the pool
	// waits for its connection forever.
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgstore.DefaultCleanupLockKey); err != nil {
		t.Fatal(err)
	}
	c := newCleaner(t, pool, pgstore.CleanerConfig{})
	res, err := c.RunOnce(ctx)
	if err != nil || res.Ran || res.Idle != 0 || res.Batches != 0 {
		t.Fatalf("RunOnce under a held lock = %v, %v", res, err)
	}
	if !f.row(t, h).Active {
		t.Fatal("a cleaner without the lock ended a session")
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	if res, err = c.RunOnce(ctx); err != nil || !res.Ran || res.Idle != 1 {
		t.Fatalf("RunOnce after unlock = %v, %v", res, err)
	}
	var held int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ((classid::bigint << 32) | objid::bigint) = $1`, pgstore.DefaultCleanupLockKey).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Fatal("the cleaner kept its advisory lock after RunOnce")
	}
}

func TestCleanerRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})

	t.Run("interval 0 disables it", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- newCleaner(t, f.pool, pgstore.CleanerConfig{}).Run(t.Context()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run with Interval 0 did not return")
		}
	})

	t.Run("runs every interval until its context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var runs atomic.Int64
		c := newCleaner(t, f.pool, pgstore.CleanerConfig{Interval: 20 * time.Millisecond,
			OnEvent: func(sessionguard.Event) { runs.Add(1) }})
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		// Each expired session is ended by a later run.
		for i := range 3 {
			h, _ := f.create(t, nil)
			f.age(t, h, 5*time.Hour, 0)
			deadline := time.Now().Add(30 * time.Second)
			for f.row(t, h).Active {
				if time.Now().After(deadline) {
					t.Fatalf("session %d still active after 30s of a 20ms interval", i)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// The run reports when it finishes, a moment after its batch
			// committed: wait for it before the next session (and before
			// cancelling, which could cut the report's statement short).
			for runs.Load() < int64(i+1) {
				if time.Now().After(deadline) {
					t.Fatalf("the run that ended session %d never reported it", i)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want context.Canceled", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		if runs.Load() < 3 {
			t.Fatalf("%d runs reported work, want at least 3", runs.Load())
		}
	})
}

func TestNewCleanerValidatesConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	for _, cfg := range []pgstore.CleanerConfig{
		{Interval: -time.Second},
		{BatchSize: -1},
		{Retention: time.Millisecond},
	} {
		if _, err := pgstore.NewCleaner(f.pool, cfg); !isInvalid(err) {
			t.Errorf("NewCleaner(%+v) = %v, want ErrInvalidArgument", cfg, err)
		}
	}
	if _, err := pgstore.NewCleaner(nil, pgstore.CleanerConfig{}); !isInvalid(err) {
		t.Errorf("nil pool: %v", err)
	}
}
