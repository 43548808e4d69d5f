package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/pgstore"
)

// Migration 024 drops the last_activity_at index and leaves room on each
// page, so a touch is a HOT update (no index written). The control case puts
// the seed's index back: then no touch is HOT. Statistics are read from the
// connection that made the updates, after forcing it to flush them.
//
// Not parallel: pruning (which makes room for the next HOT update) waits
// while a transaction anywhere on the server is older than the pruned
// version, and the parallel tests of this package keep starting some.
func TestTouchesAreHOTUpdates(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		setup       string
		wantMostHOT bool
	}{
		{"schema after 024", "", true},
		{"with the seed's last_activity_at index", "CREATE INDEX idx_sessions_last_activity ON sessions(last_activity_at)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, pgstore.Config{})
			if tt.setup != "" {
				if _, err := f.pool.Exec(ctx, tt.setup); err != nil {
					t.Fatal(err)
				}
			}
			const sessions, rounds = 50, 4
			var hashes []string
			for range sessions {
				h, _ := f.create(t, nil)
				hashes = append(hashes, h)
			}
			conn, err := f.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			for range rounds {
				for _, h := range hashes {
					// touch interval 0: every call writes; each call is its own transaction.
					if _, err := conn.Exec(ctx, "SELECT * FROM sessionguard_check($1, true, 0)", h); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
				t.Fatal(err)
			}
			var upd, hot int64
			deadline := time.Now().Add(15 * time.Second)
			for {
				if err := conn.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'sessions'::regclass`).Scan(&upd, &hot); err != nil {
					t.Fatal(err)
				}
				if upd >= sessions*rounds || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if upd != sessions*rounds {
				t.Fatalf("n_tup_upd = %d, want %d touches", upd, sessions*rounds)
			}
			if tt.wantMostHOT && hot < upd*9/10 {
				t.Fatalf("%d of %d touches were HOT, want at least 90%%", hot, upd)
			}
			if !tt.wantMostHOT && hot != 0 {
				t.Fatalf("%d of %d touches were HOT with last_activity_at indexed, want 0", hot, upd)
			}
			t.Logf("%d of %d touches were HOT", hot, upd)
		})
	}
}

// What cleanup needs stays; what touches pay for goes.
func TestMigration024Indexes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	var indexes []string
	if err := f.pool.QueryRow(context.Background(),
		`SELECT array_agg(indexname::text ORDER BY indexname) FROM pg_indexes WHERE tablename = 'sessions'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, i := range indexes {
		have[i] = true
	}
	for _, want := range []string{"idx_sessions_active", "idx_sessions_ended_at", "idx_sessions_absolute_expires", "idx_sessions_user_id"} {
		if !have[want] {
			t.Errorf("index %s is missing: %v", want, indexes)
		}
	}
	if have["idx_sessions_last_activity"] {
		t.Error("idx_sessions_last_activity still exists: every touch would be a non-HOT update")
	}
	var opts []string
	if err := f.pool.QueryRow(context.Background(),
		`SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'sessions'::regclass`).Scan(&opts); err != nil {
		t.Fatal(err)
	}
	if len(opts) != 1 || opts[0] != "fillfactor=80" {
		t.Errorf("sessions reloptions = %v, want [fillfactor=80]", opts)
	}
}
