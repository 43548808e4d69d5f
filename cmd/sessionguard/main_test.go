package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// result is what one run of the program left behind.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs the program in-process with env as its whole environment and
// stdin as its input (nil: empty, not a terminal).
func runCmd(t *testing.T, env map[string]string, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, stdin, &stdout, &stderr, func(k string) string { return env[k] })
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// dbEnv is an environment whose DATABASE_URL names pool's database.
func dbEnv(pool *pgxpool.Pool) map[string]string {
	return map[string]string{"DATABASE_URL": dsn(pool)}
}

// dsn is a key=value connection string for pool's database.
func dsn(pool *pgxpool.Pool) string {
	c := pool.Config().ConnConfig
	s := fmt.Sprintf("host='%s' port=%d user='%s' dbname='%s'", c.Host, c.Port, c.User, c.Database)
	if c.Password != "" {
		s += fmt.Sprintf(" password='%s'", c.Password)
	}
	if c.TLSConfig == nil {
		s += " sslmode=disable"
	}
	return s
}

// fixture is a migrated database with a store, a tenant and users.
type fixture struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	tenant int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	store, err := pgstore.New(pool, pgstore.Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pool: pool, store: store, tenant: pgtest.CreateTenant(t, pool, "acme")}
}

func (f *fixture) user(t *testing.T, email string) int64 {
	t.Helper()
	return pgtest.CreateUser(t, f.pool, email, 0)
}

func (f *fixture) tenantOf(t *testing.T, name string) int64 {
	t.Helper()
	return pgtest.CreateTenant(t, f.pool, name)
}

// session opens a session and returns it with its token hash.
func (f *fixture) session(t *testing.T, n sessionguard.NewSession) (sessionguard.SessionInfo, string) {
	t.Helper()
	if n.AppType == "" {
		n.AppType = sessionguard.ControlPanel
	}
	var token [32]byte
	_, _ = rand.Read(token[:])
	sum := sha256.Sum256(token[:])
	n.TokenHash = hex.EncodeToString(sum[:])
	info, err := f.store.Create(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	return info, n.TokenHash
}

// exec runs SQL that arranges a test's rows.
func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// endReason is the row's (is_active, revoke_reason).
func (f *fixture) endReason(t *testing.T, id string) (bool, string) {
	t.Helper()
	var active bool
	var reason *string
	if err := f.pool.QueryRow(context.Background(), "SELECT is_active, revoke_reason FROM sessions WHERE id = $1", id).Scan(&active, &reason); err != nil {
		t.Fatal(err)
	}
	if reason == nil {
		return active, ""
	}
	return active, *reason
}

// fields is out with each line's cells joined by one space, for comparing
// tables without their padding.
func fields(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		b.WriteString(strings.Join(strings.Fields(line), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
