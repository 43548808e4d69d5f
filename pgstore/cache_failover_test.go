package pgstore_test

import (
	"os"
	"path/filepath"
	"strings"
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
func TestCacheListenerLeftBehindByAFailover(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
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
	c := newCache(t, store, pgstore.CacheConfig{ListenConnString: bc.DirectConnString, HealthCheckInterval: 100 * time.Millisecond})
	runCache(t, c)
	eventually(t, "the listener connects", c.Listening)
	mustValidate(t, c, hash, sessionguard.Scope{})
	if _, wasHit := hit(t, c, hash); !wasHit {
		t.Fatal("the session is not answered from memory before the failover")
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
	var now string
	if err := bc.Pool.QueryRow(ctx, "SELECT current_database()").Scan(&now); err != nil || now != newPrimary.Config().ConnConfig.Database {
		t.Fatalf("the pool reaches %q, %v; the test needs the new primary's database", now, err)
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
