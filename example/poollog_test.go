package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestPoolLogger: the pool logs its failures to the app's logger, with the
// statement and the error, never the arguments (token and password hashes),
// and its successful statements not at all; a tracer already set (a test's
// counter) keeps working.
func TestPoolLogger(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	queries := &queryCounter{}
	pc := pgtest.NewEmptyPool(t).Config()
	pc.ConnConfig.Tracer = queries
	withPoolLogger(pc, log)
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// As on behalf of a request, which queryCounter counts.
	ctx := context.WithValue(t.Context(), http.LocalAddrContextKey, &net.TCPAddr{})
	const secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	var one int
	if err := pool.QueryRow(ctx, "SELECT 1 WHERE $1::text <> ''", secret).Scan(&one); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Errorf("a successful statement was logged: %s", out.String())
	}
	if err := pool.QueryRow(ctx, "SELECT $1::int", secret).Scan(&one); err == nil {
		t.Fatal("a failing statement did not fail")
	}
	logged := out.String()
	for _, want := range []string{"level=ERROR", "pgx: Query", "SELECT $1::int", "invalid input syntax"} {
		if !strings.Contains(logged, want) {
			t.Errorf("the log lacks %q: %s", want, logged)
		}
	}
	if strings.Contains(logged, secret[:16]) || strings.Contains(logged, "args") || !strings.Contains(logged, "[redacted]") {
		t.Errorf("the log shows the statement's arguments: %s", logged)
	}
	if n := queries.n.Load(); n != 2 {
		t.Errorf("the tracer that was there counted %d statements, want 2", n)
	}
}

// TestPoolLoggerRedactsEveryTextArgument: whatever form a text argument takes
// (tracelog hands the logger strings longer than 64 bytes cut short, and
// arrays as they are), PostgreSQL's quote of it in the error is cut out.
func TestPoolLoggerRedactsEveryTextArgument(t *testing.T) {
	t.Parallel()
	pc := pgtest.NewEmptyPool(t).Config()
	var out syncBuffer
	withPoolLogger(pc, slog.New(slog.NewTextHandler(&out, nil)))
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	hash := "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	long := "a-secret-longer-than-sixty-four-bytes-" + hash // tracelog cuts it at 64 bytes
	tests := []struct {
		name   string
		sql    string
		arg    any
		secret string
	}{
		{"a string", "SELECT $1::int", hash, hash},
		{"a string longer than 64 bytes", "SELECT $1::int", long, hash[32:]},
		{"an element of a text array", "SELECT ($1::text[]::int[])[1]", []string{"1", hash}, hash},
		{"a pointer to a string", "SELECT $1::int", &hash, hash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(out.String())
			var one int
			if err := pool.QueryRow(t.Context(), tt.sql, tt.arg).Scan(&one); err == nil {
				t.Fatal("a failing statement did not fail")
			}
			logged := out.String()[before:]
			if !strings.Contains(logged, "invalid input syntax") {
				t.Fatalf("the error was not logged: %s", logged)
			}
			if strings.Contains(logged, tt.secret[:16]) || strings.Contains(logged, tt.secret[len(tt.secret)-16:]) {
				t.Errorf("the log shows the argument: %s", logged)
			}
		})
	}
}
