package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// statementCounter is a pgx tracer that sorts the statements a pool runs
// while it is on.
type statementCounter struct {
	mu     sync.Mutex
	on     bool
	counts map[string]int
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return ctx
	}
	kind := "other"
	switch {
	case strings.Contains(data.SQL, "SELECT d.data FROM sessionguard_scs_data"):
		kind = "find"
	case strings.Contains(data.SQL, "INSERT INTO sessionguard_scs_data"):
		kind = "commit"
	case strings.Contains(data.SQL, "sessionguard_check"),
		strings.Contains(data.SQL, "FROM sessions WHERE session_token_hash = $1"): // Validate's read path
		kind = "check"
	}
	c.counts[kind]++
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// measure runs fn with the counter on and returns what it counted.
func (c *statementCounter) measure(fn func()) map[string]int {
	c.mu.Lock()
	c.on, c.counts = true, map[string]int{}
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.counts
}

// rowVersion is the xmin of a row: it changes with every write of the row.
func rowVersion(t *testing.T, pool *pgxpool.Pool, table, column, value string) string {
	t.Helper()
	var v string
	if err := pool.QueryRow(context.Background(),
		"SELECT xmin::text FROM "+table+" WHERE "+column+" = $1", value).Scan(&v); err != nil {
		t.Fatalf("%s row: %v", table, err)
	}
	return v
}

// In steady state a request to an scs app on sessionguard writes nothing,
// where scs with an IdleTimeout writes the session on every request. Both
// apps run the same store on the same database; the second is configured as
// scs apps with an idle timeout are today (scs's pgxstore's Commit is the same
// one upsert per request).
func TestSCSSteadyStateWrites(t *testing.T) {
	t.Parallel()
	const requests = 20
	counter := &statementCounter{}
	pool := tracedPool(t, pgtest.NewPool(t).Config(), counter)
	user := pgtest.CreateUser(t, pool, "steady@example.com", 0)

	// sessionguard: scs with IdleTimeout = 0, Config.SCS, pgstore.SCSStore.
	guarded := newSCSApp(t, pool)
	g := guarded.browser(t)
	g.signIn(user)
	token := g.cookie
	sessionBefore := rowVersion(t, pool, "sessions", "session_token_hash", hashHex(token))
	dataBefore := rowVersion(t, pool, "sessionguard_scs_data", "token_hash", hashHex(token))
	sg := counter.measure(func() {
		for range requests {
			g.expect("GET", "/account", http.StatusOK)
		}
	})
	sessionWritten := rowVersion(t, pool, "sessions", "session_token_hash", hashHex(token)) != sessionBefore
	dataWritten := rowVersion(t, pool, "sessionguard_scs_data", "token_hash", hashHex(token)) != dataBefore

	// scs alone with an idle timeout, on the same store.
	plain := newIdleTimeoutSCSApp(t, pool)
	p := plain.browser(t)
	p.expect("POST", "/login?user="+strconv.FormatInt(user, 10), http.StatusOK)
	plainBefore := rowVersion(t, pool, "sessionguard_scs_data", "token_hash", hashHex(p.cookie))
	idle := counter.measure(func() {
		for range requests {
			p.expect("GET", "/account", http.StatusOK)
		}
	})
	plainWritten := rowVersion(t, pool, "sessionguard_scs_data", "token_hash", hashHex(p.cookie)) != plainBefore

	t.Logf("statements for %d requests in steady state:", requests)
	t.Logf("  %-44s find %2d  commit (write) %2d  other %d", "scs, IdleTimeout 30m (a write per request):", idle["find"], idle["commit"], idle["other"])
	t.Logf("  %-44s find %2d  commit (write) %2d  sessionguard_check %2d (touch writes: %d)  other %d",
		"scs, IdleTimeout 0 + sessionguard:", sg["find"], sg["commit"], sg["check"], boolCount(sessionWritten), sg["other"])

	if idle["commit"] != requests || !plainWritten {
		t.Errorf("scs with an idle timeout: %d commits, row rewritten %v; want %d, true", idle["commit"], plainWritten, requests)
	}
	if sg["commit"] != 0 || sessionWritten || dataWritten {
		t.Errorf("sessionguard: %d commits, session row written %v, data row written %v; want none", sg["commit"], sessionWritten, dataWritten)
	}
	if sg["find"] != requests || sg["check"] != requests {
		t.Errorf("sessionguard: %d finds, %d checks; want %d each (every request is checked)", sg["find"], sg["check"], requests)
	}
}

// Signing out a browser that has no scs cookie asks nothing of the
// database: there is no session to end and no scs data to destroy.
func TestSCSSignOutWithoutASessionAsksNothing(t *testing.T) {
	t.Parallel()
	counter := &statementCounter{}
	pool := tracedPool(t, pgtest.NewPool(t).Config(), counter)
	app := newSCSApp(t, pool)
	got := counter.measure(func() { app.browser(t).expect("POST", "/signout", http.StatusOK) })
	if len(got) != 0 {
		t.Errorf("signing out without a session ran statements %v, want none", got)
	}

	// With a session, the same page ends it.
	b := app.browser(t)
	b.signIn(pgtest.CreateUser(t, pool, "signout@example.com", 0))
	b.expect("GET", "/account", http.StatusOK)
	b.expect("POST", "/signout", http.StatusOK)
	b.expect("GET", "/account", http.StatusUnauthorized)
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}

// newIdleTimeoutSCSApp is a plain scs app with an idle timeout, as before
// sessionguard: the user id lives in the scs data.
func newIdleTimeoutSCSApp(t *testing.T, pool *pgxpool.Pool) *scsApp {
	t.Helper()
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sm := scs.New()
	sm.Store = data
	sm.HashTokenInStore = true
	sm.IdleTimeout = 30 * time.Minute
	sm.Lifetime = 8 * time.Hour
	sm.Cookie.Name = scsCookie
	sm.Cookie.Secure = true
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", r.FormValue("user"))
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		if sm.GetString(r.Context(), "user") == "" {
			http.Error(w, "sign in", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	a := &scsApp{pool: pool, data: data, sm: sm, server: httptest.NewServer(sm.LoadAndSave(mux))}
	t.Cleanup(a.server.Close)
	return a
}
