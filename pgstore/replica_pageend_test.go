package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/pgstore"
)

// TestReplicaFencePassedAtAPageEnd: when the primary's last WAL record ends
// exactly at the end of a WAL page, its insert position is past the next
// page's header, while a replica that replayed everything reports the
// page's end. A fence at the insert position was not passed until the
// primary wrote again: on a quiet primary every replica read went to the
// primary and every revoke waited out ReplayWait (TestReplicaFallbacks
// failed so on main, depending on where its WAL happened to end). The
// fence the Store takes must be one the replica reaches with what the
// primary has written.
func TestReplicaFencePassedAtAPageEnd(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	ctx := t.Context()
	pageEnd := endWALAtAPageEnd(t, f.pool)
	pos, err := pgstore.PrimaryPosition(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("WAL ends at the page end %s; the Store fences at %s", pageEnd, pos)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var replayed bool
		if err := f.rs.StandbyPool.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", pos).Scan(&replayed); err != nil {
			t.Fatal(err)
		}
		if replayed {
			return
		}
		if time.Now().After(deadline) {
			var at string
			_ = f.rs.StandbyPool.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn()::text").Scan(&at)
			t.Fatalf("the replica replayed to %s and never reached the fence %s", at, pos)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endWALAtAPageEnd writes logical messages (WAL records of a chosen size)
// until the primary's last record ends exactly at the end of a WAL page,
// and returns that page end. Other writers may put a record in between; it
// tries again then.
func endWALAtAPageEnd(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	var block int64
	if err := pool.QueryRow(ctx, "SELECT current_setting('wal_block_size')::int8").Scan(&block); err != nil {
		t.Fatal(err)
	}
	const shortHeader = 24 // a page's header but a segment's first
	insert := func() int64 {
		t.Helper()
		var at int64
		if err := pool.QueryRow(ctx, "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8").Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	emit := func(n int64) {
		t.Helper()
		if _, err := pool.Exec(ctx, "SELECT pg_logical_emit_message(false, 'sg', repeat('x', $1::int))", n); err != nil {
			t.Fatal(err)
		}
	}
	// A record's size beyond its message, measured within one page.
	var overhead int64 = -1
	for range 200 {
		at := insert()
		room := block - at%block // bytes to the page's end
		if overhead < 0 || room < overhead+512 {
			// Measure (or move on to a page with room), with a message
			// that fits in what is left of this page when it can.
			const probe = 256
			emit(probe)
			if next := insert(); next/block == at/block {
				overhead = next - at - probe
			}
			continue
		}
		emit(room - overhead)
		if end := insert(); end%block == shortHeader && end/block == at/block+1 {
			var lsn string
			if err := pool.QueryRow(ctx, "SELECT ('0/0'::pg_lsn + $1::numeric)::text", end-shortHeader).Scan(&lsn); err != nil {
				t.Fatal(err)
			}
			return lsn
		}
	}
	t.Fatal("the primary's WAL never ended at a page end")
	return ""
}
