package pgtemp

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startServer starts a server for one test and closes it on cleanup.
func startServer(t *testing.T) *Server {
	t.Helper()
	srv, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// ping connects to srv's postgres database and runs one query.
func ping(ctx context.Context, srv *Server) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func TestStartStopRestartClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := startServer(t)

	if err := ping(ctx, srv); err != nil {
		t.Fatalf("ping after Start: %v", err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := ping(ctx, srv); err == nil {
		t.Fatal("ping after Stop succeeded; want an error")
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := ping(ctx, srv); err != nil {
		t.Fatalf("ping after Restart: %v", err)
	}

	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(srv.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat(Dir) after Close = %v; want not exist", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := srv.Restart(ctx); err == nil {
		t.Fatal("Restart after Close succeeded; want an error")
	}
}

// TestDataSurvivesRestart checks that Stop keeps the data directory, which
// fault tests rely on to find their rows after the outage.
func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := startServer(t)

	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// Restart on a running server is a stop plus a start.
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	conn, err = pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("SELECT v FROM kept = %d, %v; want 42, nil", v, err)
	}
}

// TestSettings checks the server listens only on its socket and runs with
// the throwaway settings.
func TestSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := startServer(t)
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	want := map[string]string{
		"listen_addresses":        "",
		"unix_socket_directories": srv.Dir(),
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"max_connections":         "200",
		"server_encoding":         "UTF8",
	}
	for name, w := range want {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != w {
			t.Errorf("%s = %q; want %q", name, got, w)
		}
	}
	if _, err := os.Stat(filepath.Join(srv.Dir(), "server.log")); err != nil {
		t.Errorf("server log: %v", err)
	}
}

func TestNoPostgres(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	_, err := Start(t.Context(), Options{BinDir: empty})
	if !errors.Is(err, ErrNoPostgres) {
		t.Fatalf("Start with empty BinDir: err = %v; want ErrNoPostgres", err)
	}
	if !strings.Contains(err.Error(), "apt-get install postgresql") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("error %q does not say how to fix it", err)
	}
}

func TestConnString(t *testing.T) {
	t.Parallel()
	s := &Server{dir: "/tmp/pgtemp-1", port: 5432}
	tests := []struct{ name, db, want string }{
		{"plain", "app", "host=/tmp/pgtemp-1 port=5432 user=postgres dbname=app sslmode=disable"},
		{"quoted", "it's a db", `host=/tmp/pgtemp-1 port=5432 user=postgres dbname='it\'s a db' sslmode=disable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.ConnString(tt.db); got != tt.want {
				t.Errorf("ConnString(%q) = %q; want %q", tt.db, got, tt.want)
			}
		})
	}
}

func TestSettingsReachTheServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, err := Start(ctx, Options{MaxConnections: 37, Settings: map[string]string{"work_mem": "'3MB'"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var workMem, maxConns string
	if err := conn.QueryRow(ctx, "SELECT current_setting('work_mem'), current_setting('max_connections')").Scan(&workMem, &maxConns); err != nil {
		t.Fatal(err)
	}
	if workMem != "3MB" || maxConns != "37" {
		t.Fatalf("work_mem = %s, max_connections = %s; want 3MB, 37", workMem, maxConns)
	}
}
