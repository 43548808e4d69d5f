package pgtest

import (
	"os"
	"testing"
)

// TestNewIsolatedServer takes a private server down and back, as fault
// tests do, and checks the migrated data survives.
func TestNewIsolatedServer(t *testing.T) {
	t.Parallel()
	srv, pool := NewIsolatedServer(t)
	ctx := t.Context()
	user := CreateUser(t, pool, "a@example.com", 0)

	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := pool.Ping(ctx); err == nil {
		t.Fatal("Ping with the server stopped succeeded; want an error")
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	pool.Reset()
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM users WHERE id = $1", user).Scan(&n); err != nil || n != 1 {
		t.Fatalf("user after restart: count = %d, err = %v; want 1, nil", n, err)
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM sessions").Scan(&n); err != nil {
		t.Fatalf("sessions after restart: %v", err)
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	if os.Getenv("DATABASE_URL") != "" {
		// Server fails the test by design here; check the state it reads.
		if sh := mustShared(t); !sh.external || sh.srv != nil {
			t.Fatalf("with DATABASE_URL: external = %v, own server = %v; want true, nil", sh.external, sh.srv)
		}
		return
	}
	srv := Server(t)
	if srv == nil || srv.Dir() == "" {
		t.Fatalf("Server = %v; want the shared server", srv)
	}
}
