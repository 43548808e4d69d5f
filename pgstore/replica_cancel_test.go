package pgstore_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestRevokeWhoseReplicaWaitIsCancelledIsReplicaBehind: a revocation that
// committed but whose wait for the replica ended in a PostgreSQL error
// (57014: its ReplayWait passed while the replica's statement ran, under
// the CancelRequestContextWatcherHandler README advises; or the replica's
// own statement_timeout) still returns sessionguard.ErrReplicaBehind: the
// session ended, and the caller (and store.duration's result) must know
// that, not see a failed revoke or a bare deadline. The replica's
// statement is held by a pg_is_in_recovery in a schema searched before
// pg_catalog that sleeps.
func TestRevokeWhoseReplicaWaitIsCancelledIsReplicaBehind(t *testing.T) {
	t.Parallel()
	rs := pgtest.NewReplicated(t, 0)
	ctx := t.Context()
	if _, err := rs.PrimaryPool.Exec(ctx, `CREATE SCHEMA held;
		CREATE FUNCTION held.pg_is_in_recovery() RETURNS boolean VOLATILE LANGUAGE sql
			AS 'SELECT pg_catalog.pg_is_in_recovery() FROM pg_catalog.pg_sleep(3)'`); err != nil {
		t.Fatal(err)
	}
	user := pgtest.CreateUser(t, rs.PrimaryPool, "alice@acme.example", 0)
	eventually(t, "the standby has the function", func() bool {
		var ok bool
		err := rs.StandbyPool.QueryRow(ctx, "SELECT to_regprocedure('held.pg_is_in_recovery()') IS NOT NULL").Scan(&ok)
		return err == nil && ok
	})
	cancelRequest := func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadlineDelay}
	}
	for _, tc := range []struct {
		name       string
		params     map[string]string
		handler    func(*pgconn.PgConn) ctxwatch.Handler // nil: pgx's default
		mode       pgx.QueryExecMode                     // 0: pgx's default
		replayWait time.Duration
	}{
		{"ReplayWait passes mid-statement, cancel request", nil, cancelRequest, 0, 300 * time.Millisecond},
		// Each replica statement fails at once (the last one may instead be
		// cut short by ReplayWait, as above). No statement cache: its
		// clean-up after an error would be cut short by ReplayWait.
		{"the replica's statement_timeout", map[string]string{"statement_timeout": "1"}, cancelRequest, pgx.QueryExecModeExec, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(rs.Standby.ConnString("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			cfg.ConnConfig.RuntimeParams["search_path"] = "held, pg_catalog, public"
			maps.Copy(cfg.ConnConfig.RuntimeParams, tc.params)
			if tc.mode != 0 {
				cfg.ConnConfig.DefaultQueryExecMode = tc.mode
			}
			if tc.handler != nil {
				cfg.ConnConfig.BuildContextWatcherHandler = tc.handler
			}
			readPool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(readPool.Close)
			store, err := pgstore.New(pgtest.NewServerPool(t, rs.Primary), pgstore.Config{
				ReadPool: readPool, ReplayWait: tc.replayWait, Logger: quiet,
			})
			if err != nil {
				t.Fatal(err)
			}
			f := replicaFixture{fixture: fixture{pool: rs.PrimaryPool, store: store, user: user}, rs: rs}
			// Which error the wait ends with is a race (its last statement's,
			// or its next one's, refused at once for the ended context):
			// six revokes, so that each way is taken.
			for range 6 {
				hash, _ := f.create(t, nil)
				start := time.Now()
				ended, err := store.Revoke(context.Background(), hash, sessionguard.ReasonLogout)
				if took := time.Since(start); took < tc.replayWait {
					t.Errorf("Revoke took %v, less than ReplayWait: the replica's statements were not held", took)
				}
				if !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
					t.Fatalf("Revoke = %v, %v; want true, ErrReplicaBehind", ended, err)
				}
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) {
					t.Errorf("Revoke's error %v carries the driver's PgError (its Detail may quote row values)", err)
				}
				t.Logf("Revoke: %v", err)
				if f.row(t, hash).Active {
					t.Error("the session is still active on the primary")
				}
			}
		})
	}
}
