package pgstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is one test's database, store and a user to own sessions.
type fixture struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	user   int64
	tenant int64
}

func newFixture(t *testing.T, cfg pgstore.Config) fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	store, err := pgstore.New(pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tenant := pgtest.CreateTenant(t, pool, "acme")
	return fixture{pool: pool, store: store, user: pgtest.CreateUser(t, pool, "alice@acme.example", tenant), tenant: tenant}
}

func newHash(t testing.TB) string {
	t.Helper()
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(token)
	return hex.EncodeToString(sum[:])
}

// create makes a session of f.user with defaults overridden by edit.
func (f fixture) create(t *testing.T, edit func(*sessionguard.NewSession)) (string, sessionguard.SessionInfo) {
	t.Helper()
	n := sessionguard.NewSession{TokenHash: newHash(t), UserID: f.user, AppType: sessionguard.ControlPanel, IP: "192.0.2.1", UserAgent: "test"}
	if edit != nil {
		edit(&n)
	}
	info, err := f.store.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return n.TokenHash, info
}

// age moves a session's clocks back, as if the time had passed.
func (f fixture) age(t *testing.T, hash string, lastActivity, created time.Duration) {
	t.Helper()
	_, err := f.pool.Exec(context.Background(), `UPDATE sessions
		SET last_activity_at = last_activity_at - make_interval(secs => $2),
		    created_at = created_at - make_interval(secs => $3),
		    absolute_expires_at = absolute_expires_at - make_interval(secs => $3)
		WHERE session_token_hash = $1`, hash, lastActivity.Seconds(), created.Seconds())
	if err != nil {
		t.Fatal(err)
	}
}

// row is the stored state of a session, read behind the store's back.
type row struct {
	Active       bool
	Reason       *string
	Ended        bool
	LastActivity time.Time
}

func (f fixture) row(t *testing.T, hash string) row {
	t.Helper()
	var r row
	err := f.pool.QueryRow(context.Background(), `SELECT is_active, revoke_reason, ended_at IS NOT NULL AND revoked_at IS NOT NULL, last_activity_at
		FROM sessions WHERE session_token_hash = $1`, hash).Scan(&r.Active, &r.Reason, &r.Ended, &r.LastActivity)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r row) reason() string {
	if r.Reason == nil {
		return ""
	}
	return *r.Reason
}
