package pgtemp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// startBouncer starts a server and a bouncer in front of it for one test.
func startBouncer(t *testing.T) (*Server, *Bouncer) {
	t.Helper()
	srv := startServer(t)
	target, err := pgconn.ParseConfig(srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartBouncer(t.Context(), target, BouncerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, b
}

func connect(t *testing.T, connString string) *pgconn.PgConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// query runs sql (simple protocol) and returns the first column of the last
// result's first row.
func query(t *testing.T, conn *pgconn.PgConn, sql string) string {
	t.Helper()
	results, err := conn.Exec(t.Context(), sql).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	last := results[len(results)-1]
	if len(last.Rows) == 0 {
		t.Fatalf("%s: no rows", sql)
	}
	return string(last.Rows[0][0])
}

// TestBouncerPoolsTransactions checks that the bouncer hands a server
// connection to a client per transaction, not per session: a second client
// gets the server connection the first one just used.
func TestBouncerPoolsTransactions(t *testing.T) {
	t.Parallel()
	_, b := startBouncer(t)
	a := connect(t, b.ConnString("postgres"))
	first := query(t, a, "SELECT pg_backend_pid()")

	other := connect(t, b.ConnString("postgres"))
	held := query(t, other, "BEGIN; SELECT pg_backend_pid()") // keeps it until ROLLBACK
	if held != first {
		t.Fatalf("second client's backend = %s; want %s, the one the first client's finished transaction released", held, first)
	}
	if again := query(t, a, "SELECT pg_backend_pid()"); again == first {
		t.Fatalf("first client still on backend %s while another client's transaction holds it", first)
	}
	query(t, other, "ROLLBACK; SELECT 1")
}

// TestBouncerSettings checks the settings the tests rely on, on the admin
// console: transaction pooling, and no TCP listener.
func TestBouncerSettings(t *testing.T) {
	t.Parallel()
	_, b := startBouncer(t)
	admin := connect(t, b.ConnString("pgbouncer"))
	results, err := admin.Exec(t.Context(), "SHOW CONFIG").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, row := range results[0].Rows {
		got[string(row[0])] = string(row[1])
	}
	for key, want := range map[string]string{"pool_mode": "transaction", "listen_addr": "", "unix_socket_dir": b.Dir()} {
		if got[key] != want {
			t.Errorf("%s = %q; want %q", key, got[key], want)
		}
	}
	// pgbouncer.ini holds the server's password when it has one: only
	// PgBouncer's user may read it.
	for _, name := range []string{"pgbouncer.ini", "userlist.txt"} {
		fi, err := os.Stat(filepath.Join(b.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %o; want 600", name, perm)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat(Dir) after Close = %v; want not exist", err)
	}
}

func TestNoPgBouncer(t *testing.T) {
	t.Parallel()
	target, err := pgconn.ParseConfig("host=/nonexistent user=postgres")
	if err != nil {
		t.Fatal(err)
	}
	_, err = StartBouncer(t.Context(), target, BouncerOptions{Binary: t.TempDir()})
	if !errors.Is(err, ErrNoPgBouncer) || !strings.Contains(err.Error(), "apt-get install pgbouncer") {
		t.Fatalf("StartBouncer with a directory as binary = %v; want ErrNoPgBouncer saying how to install it", err)
	}
}
