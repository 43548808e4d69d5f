package middleware_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// queryCounter is a pgx tracer that counts the queries sent to PostgreSQL:
// the proof that a request judged locally cost no query.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}

func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// realDB is a fresh migrated database with a store over a traced pool and a
// user to own sessions.
type realDB struct {
	pool    *pgxpool.Pool // traced
	store   *pgstore.Store
	queries *queryCounter
	user    int64
}

func newRealDB(t *testing.T, storeCfg pgstore.Config) realDB {
	t.Helper()
	base := pgtest.NewPool(t)
	return tracedDB(t, base, base.Config(), storeCfg)
}

// tracedDB opens a second pool on cfg's database with a query counter; base
// is used for the fixture rows.
func tracedDB(t *testing.T, base *pgxpool.Pool, cfg *pgxpool.Config, storeCfg pgstore.Config) realDB {
	t.Helper()
	q := &queryCounter{}
	pool := tracedPool(t, cfg, q)
	if storeCfg.Logger == nil {
		storeCfg.Logger = discard
	}
	store, err := pgstore.New(pool, storeCfg)
	if err != nil {
		t.Fatal(err)
	}
	user := pgtest.CreateUser(t, base, "u"+randomToken(t)[:12]+"@example.com", 0)
	return realDB{pool: pool, store: store, queries: q, user: user}
}

// tracedPool opens a pool on cfg's database whose statements go through
// tracer, closed when the test ends.
func tracedPool(t *testing.T, cfg *pgxpool.Config, tracer pgx.QueryTracer) *pgxpool.Pool {
	t.Helper()
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func randomToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// signInUser opens a real session through g and returns its token.
func signInUser(t *testing.T, g *middleware.Guard, user int64) string {
	t.Helper()
	tok, _, err := g.SignIn(nil, httptest.NewRequest(http.MethodPost, "/login", nil), middleware.SignIn{UserID: user, AppType: sessionguard.ControlPanel})
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	return tok
}

// serve runs one request through g's middleware and returns the status.
func serve(g *middleware.Guard, r *http.Request) int {
	rec := httptest.NewRecorder()
	g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })).ServeHTTP(rec, r)
	return rec.Code
}
