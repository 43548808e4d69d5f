package pgstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestCacheListenerLeftBehindByAFailover: the pool goes through PgBouncer,
// the Cache's listener straight to the server, as README's "Behind
// PgBouncer" advises. A failover points PgBouncer at the new primary
// (RELOAD) while the old one still runs: the listener's connection stays
// up and answers pings, but hears nothing of what happens on the new
// primary. A session revoked there was answered "valid" from memory (50
// checks of 50 over 5 s) until its touch or the cache's TTL came due. Each
// health check now sends a notification through the pool, which the
// listener must receive: it gives the connection up, and the cache empties.
// (Two databases of one server stand in for the two servers: a
// notification reaches only sessions of its own database.)
//
// The check rides on the listener's ping, which must come every interval
// however busy the channel: an old primary that still ends sessions of its
// own (split brain, here a notification every fifth of an interval) kept
// the channel from ever going quiet, and when the ping waited for a quiet
// interval the listener was never given up (61b6180).
func TestCacheListenerLeftBehindByAFailover(t *testing.T) {
	for _, tc := range []struct {
		name             string
		oldStillNotifies bool
	}{
		{"old primary quiet", false},
		{"old primary still notifying", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			leftBehindByAFailover(t, tc.oldStillNotifies)
		})
	}
}

func leftBehindByAFailover(t *testing.T, oldStillNotifies bool) {
	ctx := t.Context()
	const interval = 100 * time.Millisecond
	bc, bouncer := pgtest.NewPrivateBounced(t)
	oldPrimary := bc.Direct
	newPrimary := pgtest.NewPool(t)
	hash := newHash(t)
	for _, pool := range []*pgxpool.Pool{oldPrimary, newPrimary} { // the session is on both, as replication makes it
		tenant := pgtest.CreateTenant(t, pool, "acme")
		user := pgtest.CreateUser(t, pool, "alice@acme.example", tenant)
		s, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
			t.Fatal(err)
		}
	}
	store, err := pgstore.New(bc.Pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	c := newCache(t, store, pgstore.CacheConfig{ListenConnString: bc.DirectConnString, HealthCheckInterval: interval})
	runCache(t, c)
	eventually(t, "the listener connects", c.Listening)
	mustValidate(t, c, hash, sessionguard.Scope{})
	if _, wasHit := hit(t, c, hash); !wasHit {
		t.Fatal("the session is not answered from memory before the failover")
	}

	if oldStillNotifies { // from before the failover: the channel never goes quiet
		notifying, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() { stop(); wg.Wait() }()
		wg.Go(func() {
			for notifying.Err() == nil {
				if _, err := oldPrimary.Exec(notifying, "SELECT pg_notify($1, $2)", pgstore.NotifyChannel, newHash(t)); err != nil && notifying.Err() == nil {
					t.Errorf("notify on the old primary: %v", err)
					return
				}
				time.Sleep(interval / 5)
			}
		})
	}

	// The failover: PgBouncer now sends the pool's database to the new
	// primary's.
	ini := filepath.Join(bouncer.Dir(), "pgbouncer.ini")
	body, err := os.ReadFile(ini)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(body)
	wildcard := conf[strings.Index(conf, "\n* = ")+1:]
	wildcard = wildcard[:strings.Index(wildcard, "\n")]
	route := bc.Pool.Config().ConnConfig.Database + " = " + strings.TrimPrefix(wildcard, "* = ") +
		" dbname=" + newPrimary.Config().ConnConfig.Database
	conf = strings.Replace(conf, "[databases]\n", "[databases]\n"+route+"\n", 1)
	if err := os.WriteFile(ini, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	bouncerAdmin(t, bouncer, "RELOAD")
	// PgBouncer's first login to the new primary may fail on a loaded
	// machine; it retries after server_login_retry (1 s).
	var (
		now    string
		nowErr error
	)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		nowErr = bc.Pool.QueryRow(ctx, "SELECT current_database()").Scan(&now)
		if nowErr == nil || time.Now().After(deadline) {
			break
		}
	}
	if nowErr != nil || now != newPrimary.Config().ConnConfig.Database {
		t.Fatalf("the pool reaches %q, %v; the test needs the new primary's database", now, nowErr)
	}

	if ended, err := store.Revoke(ctx, hash, sessionguard.ReasonLogout); err != nil || !ended {
		t.Fatalf("Revoke on the new primary = %v, %v", ended, err)
	}
	revoked := time.Now()
	var passes int
	for time.Since(revoked) < 3*time.Second {
		if st := mustValidate(t, c, hash, sessionguard.Scope{}); st.State == sessionguard.StateValid {
			passes++
			if time.Since(revoked) > time.Second { // ten health-check intervals
				t.Fatalf("%d checks passed the revoked session over %v; the listener still serves from the old primary", passes, time.Since(revoked))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d checks passed in the first second after the revoke", passes)
}
