package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/schema"
)

// TestMigrateLockTimeoutBoundsItsTurn: while another session holds the
// migration lock (an instance's schema.Migrate stuck in a step, a DBA's
// script left in its transaction), "migrate" gives up after --lock-timeout
// and names that session, as for any lock; with --lock-timeout 0 it waits
// and then migrates. Before, schema.Migrate's polling for its turn waited
// without end and said nothing: no statement of the run waited in pg_locks,
// so the lock watch never saw it.
func TestMigrateLockTimeoutBoundsItsTurn(t *testing.T) {
	t.Parallel()
	for _, bounced := range []bool{false, true} {
		t.Run(fmt.Sprintf("bounced=%v", bounced), func(t *testing.T) {
			t.Parallel()
			var env map[string]string
			var bare *pgxpool.Pool
			if bounced {
				bc := pgtest.NewBarePoolBounced(t)
				bare, env = bc.Direct, map[string]string{"DATABASE_URL": bc.ConnString}
			} else {
				bare = pgtest.NewBarePool(t)
				env = dbEnv(bare)
			}
			holder, err := bare.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Rollback(context.Background())
			if _, err := holder.Exec(t.Context(), "SELECT pg_advisory_xact_lock($1)", schema.LockKey); err != nil {
				t.Fatal(err)
			}
			pid := holder.Conn().PgConn().PID()

			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var stdout, stderr strings.Builder
			start := time.Now()
			code := run(ctx, []string{"migrate", "--lock-timeout", "300ms"}, strings.NewReader(""), &stdout, &stderr,
				func(k string) string { return env[k] })
			if took := time.Since(start); code != exitFailure || took > 10*time.Second {
				t.Fatalf("exit status %d after %v, want %d within seconds; stdout %q, stderr %q", code, took, exitFailure, stdout.String(), stderr.String())
			}
			for _, want := range []string{
				"gave up after waiting 300ms (--lock-timeout) for schema.Migrate's migration lock held by pid " + fmt.Sprint(pid),
				"in a transaction open for",
			} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
				}
			}
			if records, err := schema.Applied(t.Context(), bare); err != nil || len(records) != 0 {
				t.Errorf("recorded %d migrations (%v) while the lock was held", len(records), err)
			}

			// No limit: it waits for its turn, then migrates.
			done := make(chan result, 1)
			go func() { done <- runCmd(t, env, nil, "migrate", "--lock-timeout", "0") }()
			select {
			case r := <-done:
				t.Fatalf("--lock-timeout 0 returned while the lock was held: %+v", r)
			case <-time.After(time.Second):
			}
			if err := holder.Rollback(t.Context()); err != nil {
				t.Fatal(err)
			}
			if r := <-done; r.code != exitOK || !strings.Contains(r.stdout, "schema up to date") {
				t.Errorf("--lock-timeout 0: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}
