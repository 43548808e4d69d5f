package pgtemp

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// queryOne runs sql on srv's postgres database and scans one value.
func queryOne[T any](ctx context.Context, t *testing.T, srv *Server, sql string) T {
	t.Helper()
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func execSQL(ctx context.Context, t *testing.T, srv *Server, sql string) error {
	t.Helper()
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// TestStandby starts a hot standby (a copy taken with pg_basebackup -R) with
// an apply delay, sees a write reach it no sooner than the delay, sees it
// refuse writes, and promotes it (pg_ctl promote).
func TestStandby(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	primary := startServer(t)
	if err := execSQL(ctx, t, primary, "CREATE TABLE t (v int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	const delay = 300 * time.Millisecond
	standby, err := primary.StartStandby(ctx, StandbyOptions{ApplyDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := standby.Close(); err != nil {
			t.Errorf("Close standby: %v", err)
		}
	})
	if standby.Dir() == primary.Dir() {
		t.Fatal("standby shares the primary's directory")
	}
	if !queryOne[bool](ctx, t, standby, "SELECT pg_is_in_recovery()") {
		t.Fatal("standby is not in recovery")
	}
	if got := queryOne[int](ctx, t, standby, "SELECT count(*) FROM t"); got != 1 {
		t.Fatalf("rows copied = %d; want 1", got)
	}
	if err := execSQL(ctx, t, standby, "INSERT INTO t VALUES (9)"); err == nil {
		t.Fatal("a write on the standby succeeded; want read-only")
	}

	start := time.Now()
	if err := execSQL(ctx, t, primary, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	for queryOne[int](ctx, t, standby, "SELECT count(*) FROM t") != 2 {
		if time.Since(start) > 30*time.Second {
			t.Fatal("the write never reached the standby")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lag := time.Since(start); lag < delay {
		t.Errorf("the write was replayed after %v; want at least the apply delay %v", lag, delay)
	}

	if err := primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if queryOne[bool](ctx, t, standby, "SELECT pg_is_in_recovery()") {
		t.Fatal("promoted standby is still in recovery")
	}
	if err := execSQL(ctx, t, standby, "INSERT INTO t VALUES (3)"); err != nil {
		t.Fatalf("write after Promote: %v", err)
	}
	if err := standby.Promote(ctx); err == nil {
		t.Error("promoting a primary succeeded; want an error")
	}
}

func TestStandbyOptionsRefused(t *testing.T) {
	t.Parallel()
	srv := &Server{}
	for _, d := range []time.Duration{-time.Millisecond, 1500 * time.Microsecond} {
		if _, err := srv.StartStandby(t.Context(), StandbyOptions{ApplyDelay: d}); err == nil {
			t.Errorf("ApplyDelay %v: no error", d)
		}
	}
}
