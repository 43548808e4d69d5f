package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Table sizes of TestCleanupAtSize. Row i is, by i % 10: 0-3 ended 100 days
// ago (purged), 4 ended 10 days ago (kept), 5-6 past the absolute timeout,
// 7-8 past the idle timeout, 9 live.
const (
	fullSizeRows  = 1_000_000 // with SESSIONGUARD_CLEANUP_AT_SIZE=1, which .ci/run sets
	quickSizeRows = 100_000   // otherwise, so that a developer's go test ./... stays quick
)

// sizeRows is the table size for this run. CI must run the full size: there
// a missing variable fails the test rather than shrink it unseen.
func sizeRows(t *testing.T) int {
	t.Helper()
	if os.Getenv("SESSIONGUARD_CLEANUP_AT_SIZE") == "1" {
		return fullSizeRows
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but SESSIONGUARD_CLEANUP_AT_SIZE is not 1: set it (see .ci/run) to clean up a million rows")
	}
	t.Logf("cleaning up %d rows; SESSIONGUARD_CLEANUP_AT_SIZE=1 makes it %d", quickSizeRows, fullSizeRows)
	return quickSizeRows
}

// sizeHash is the token hash of generated row i, as the SQL below makes it.
func sizeHash(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("s%d", i)))
	return hex.EncodeToString(sum[:])
}

// TestCleanupAtSize cleans a table of a million rows (see sizeRows), most of them due for
// cleanup (a backlog), while requests keep validating live sessions. Each
// statement handles at most BatchSize rows, so no lock is held for long, and
// no validation fails or waits for the cleanup. The figures are in the log.
func TestCleanupAtSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sizeRows := sizeRows(t)
	f := newFixture(t, pgstore.Config{Logger: quiet})
	start := time.Now()

	// Migration 024 drops the last_activity_at index: the cleanup must not
	// need it. The other secondary indexes are dropped for the load and
	// built again after it, which is quicker than maintaining them row by row.
	if _, err := f.pool.Exec(ctx, "DROP INDEX IF EXISTS idx_sessions_last_activity"); err != nil {
		t.Fatal(err)
	}
	rows, err := f.pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE tablename = 'sessions' AND indexname LIKE 'idx_sessions_%'`)
	if err != nil {
		t.Fatal(err)
	}
	indexes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Name, Def string }])
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range indexes {
		if _, err := f.pool.Exec(ctx, "DROP INDEX "+ix.Name); err != nil {
			t.Fatal(err)
		}
	}
	var firstUser int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO users (email) SELECT 'size' || g || '@example.com' FROM generate_series(1, 100) g
		RETURNING id`).Scan(&firstUser); err != nil {
		t.Fatal(err)
	}
	_, err = f.pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, created_at, last_activity_at,
			absolute_expires_at, is_active, revoked_at, ended_at, revoke_reason)
		SELECT $1 + i % 100, encode(sha256(('s' || i)::bytea), 'hex'), c, la, c + interval '8 hours',
			k >= 5, e, e, CASE WHEN k < 5 THEN 'logout' END
		FROM generate_series(0, $2 - 1) i,
		LATERAL (SELECT i % 10 AS k) kk,
		LATERAL (SELECT CASE WHEN k <= 3 THEN now() - interval '100 days'
		                     WHEN k = 4 THEN now() - interval '10 days'
		                     WHEN k <= 6 THEN now() - interval '9 hours'
		                     ELSE now() - interval '5 hours' END AS c) cc,
		LATERAL (SELECT CASE WHEN k = 9 THEN now() ELSE c + interval '1 minute' END AS la,
		                CASE WHEN k <= 4 THEN c + interval '2 hours' END AS e) ee`,
		firstUser, sizeRows)
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range indexes {
		if _, err := f.pool.Exec(ctx, ix.Def); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pool.Exec(ctx, `ANALYZE sessions`); err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)

	// One page of the expiry's walk, from the middle of the ids: it must read
	// on from its key through migration 025's index (not from the start of an
	// index, not the whole table) and look the expired rows up by id to lock them.
	var plan []string
	rows, err = f.pool.Query(ctx, "EXPLAIN "+pgstore.ExpireNextPageSQL, pgx.QueryExecModeExec,
		pgstore.DefaultCleanupBatchSize, "80000000-0000-4000-8000-000000000000")
	if err == nil {
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatal(err)
	}
	planText := strings.Join(plan, "\n")
	t.Logf("expire page plan:\n%s", planText)
	for _, want := range []string{"Index Scan using idx_sessions_active_id on sessions", "Index Cond: (id > ", "Index Cond: (id = ANY "} {
		if !strings.Contains(planText, want) {
			t.Fatalf("expire page plan lacks %q", want)
		}
	}
	if strings.Contains(planText, "Seq Scan") {
		t.Fatal("expire page plan reads the whole table")
	}

	// Requests on live sessions, all through the cleanup.
	checks := checkInBackground(ctx, f.store, 1, func(rng *rand.Rand) string { return sizeHash(rng.IntN(sizeRows/10)*10 + 9) },
		sessionguard.Status.Valid)

	// A bound against a hang, not a speed test: a loaded CI machine may be
	// several times slower than a quiet one.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// Expiry first (a cleaner that keeps ended rows), then the purge, to
	// report each phase's figures.
	expireStart := time.Now()
	res, err := newCleaner(t, f.pool, pgstore.CleanerConfig{Retention: -1}).RunOnce(cctx)
	expired := time.Since(expireStart)
	if err == nil {
		t.Logf("expire: %v in %v", res, expired.Round(time.Millisecond))
		var purge pgstore.CleanupResult
		purgeStart := time.Now()
		purge, err = newCleaner(t, f.pool, pgstore.CleanerConfig{}).RunOnce(cctx)
		t.Logf("purge: %v in %v", purge, time.Since(purgeStart).Round(time.Millisecond))
		res.Absolute += purge.Absolute
		res.Idle += purge.Idle
		res.Purged += purge.Purged
		res.Batches += purge.Batches
		res.LongestBatch = max(res.LongestBatch, purge.LongestBatch)
	}
	cleaned := time.Since(expireStart)
	checks.stop()
	if err != nil {
		t.Fatalf("RunOnce: %v (after %v)", err, res)
	}

	t.Logf("%d rows loaded in %v; cleanup in %v: %v; %d batches of at most %d rows",
		sizeRows, loaded.Round(time.Millisecond), cleaned.Round(time.Millisecond), res, res.Batches, pgstore.DefaultCleanupBatchSize)
	t.Logf("during the cleanup: %v", checks)

	want := sizeRows / 10
	if res.Absolute != 2*want || res.Idle != 2*want || res.Purged != 4*want {
		t.Fatalf("result %v, want absolute=%d idle=%d purged=%d", res, 2*want, 2*want, 4*want)
	}
	if minBatches := (res.Absolute+res.Idle+res.Purged)/pgstore.DefaultCleanupBatchSize + 2; res.Batches < minBatches {
		t.Fatalf("%d batches, want at least %d: batches are not bounded", res.Batches, minBatches)
	}
	if checks.failures.Load() != 0 || checks.checks.Load() == 0 {
		t.Fatalf("during the cleanup: %v; want some, none failed", checks)
	}
	var active, total int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE is_active), count(*) FROM sessions").Scan(&active, &total); err != nil {
		t.Fatal(err)
	}
	if active != want || total != sizeRows-4*want {
		t.Fatalf("after cleanup: %d active, %d rows; want %d and %d", active, total, want, sizeRows-4*want)
	}
}
