package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestListenerProbesDoNotWaitForASynchronousStandby: the listener's probe
// notifications, sent through the pool when it connects and every health
// check, are transactions of their own on the primary (a transaction id and
// a commit record each). With synchronous replication and its standby down,
// a commit that wrote anything waits for the standby; a probe, which only
// notifies, does not: PostgreSQL commits a transaction that wrote no WAL
// before its commit record asynchronously (no wait for a WAL flush or a
// standby), whatever synchronous_commit says. So the listener connects and
// its health checks go on while the standby is down, and SET LOCAL
// synchronous_commit = off would change nothing. A probe that also wrote a
// row would hang there: the listener would never connect, and a running
// one's left-behind check would go blind.
func TestListenerProbesDoNotWaitForASynchronousStandby(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// pgtemp turns synchronous_commit off; a production server has it on.
	_, pool := pgtest.NewIsolatedServerWith(t, pgtemp.Options{Settings: map[string]string{"synchronous_commit": "on"}})
	store, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	user := pgtest.CreateUser(t, pool, "alice@acme.example", pgtest.CreateTenant(t, pool, "acme"))
	hash := newHash(t)
	if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
		t.Fatal(err)
	}

	if _, err := pool.Exec(ctx, "CREATE TABLE sessionguard_premise (n int)"); err != nil {
		t.Fatal(err)
	}
	// A synchronous standby that is not there.
	const standby = "absent_standby"
	if _, err := pool.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = '"+standby+"'"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the server waits for the standby", func() bool {
		var names string
		err := pool.QueryRow(ctx, "SHOW synchronous_standby_names").Scan(&names)
		return err == nil && names == standby
	})
	// The postmaster has read it; a connection it has not signaled yet
	// would not wait. New ones start with it.
	pool.Reset()
	// A transaction that writes a row now waits for the standby.
	waitCtx, cancel := context.WithTimeout(ctx, time.Second)
	_, err = pool.Exec(waitCtx, "INSERT INTO sessionguard_premise VALUES (1)")
	cancel()
	if err == nil {
		t.Fatal("a write committed without the synchronous standby: the test proves nothing")
	}

	c := newCache(t, store, pgstore.CacheConfig{HealthCheckInterval: 100 * time.Millisecond})
	runCache(t, c) // fails unless the listener connects
	mustValidate(t, c, hash, sessionguard.Scope{})
	if _, wasHit := hit(t, c, hash); !wasHit {
		t.Fatal("the session is not answered from memory")
	}
	time.Sleep(time.Second) // ten health checks
	var waiting []string
	rows, err := pool.Query(ctx, "SELECT query FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND query NOT LIKE '%sessionguard_premise%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, q)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(waiting) != 0 {
		t.Fatalf("after ten health checks, %d transactions wait for the synchronous standby: %q", len(waiting), waiting)
	}
	if !c.Listening() {
		t.Fatal("the cache stopped answering")
	}
}
