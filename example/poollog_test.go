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
