package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// rotate re-authenticates session id from hash from to hash to.
func rotate(t *testing.T, f fixture, id, from, to string) {
	t.Helper()
	_, ok, err := f.store.Reauthenticate(context.Background(), sessionguard.Reauthentication{
		SessionID: id, OldTokenHash: from, NewTokenHash: to})
	if err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
}

// TestRotatedOutTokensOpenNoSession: a token a re-authentication rotated out
// (migration 031), and the twin hash named with it, are refused as taken
// tokens by every way of creating a session, after later rotations too, and
// cannot become a session's token again through another re-authentication. Before 031 its hash was in no
// table, and Create opened a new live session for it.
func TestRotatedOutTokensOpenNoSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	t0, s := f.create(t, nil)
	t1, t2, twin1 := newHash(t), newHash(t), newHash(t)
	rotate(t, f, s.ID, t0, t1)
	if _, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{
		SessionID: s.ID, OldTokenHash: t1, NewTokenHash: t2, OldTwinHash: twin1}); err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}

	tests := []struct {
		name string
		n    sessionguard.NewSession
	}{
		{"first token", sessionguard.NewSession{TokenHash: t0}},
		{"second token", sessionguard.NewSession{TokenHash: t1}},
		{"second token's twin", sessionguard.NewSession{TokenHash: twin1}},
		{"first token, tenant app", sessionguard.NewSession{TokenHash: t0, AppType: sessionguard.TenantApp, TenantID: f.tenant}},
		{"second token, with a session limit", sessionguard.NewSession{TokenHash: t1, Limit: sessionguard.SessionLimit{Max: 5}}},
		{"first token, limit ending the oldest", sessionguard.NewSession{TokenHash: t0, Limit: sessionguard.SessionLimit{Max: 1}}},
		{"second token, its own session id", sessionguard.NewSession{TokenHash: t1, ID: "7c0e3c6e-9a51-4b8e-8f55-3d0d1c2b4a60"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			n.UserID = f.user
			if n.AppType == "" {
				n.AppType = sessionguard.ControlPanel
			}
			if _, err := f.store.Create(ctx, n); !errors.Is(err, sessionguard.ErrDuplicateToken) {
				t.Fatalf("Create of a rotated-out token = %v, want ErrDuplicateToken", err)
			}
		})
	}

	// Nor may another session (or the same one) rotate to a retired token.
	t3, other := f.create(t, nil)
	for _, back := range []string{t0, t1, twin1} {
		_, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: other.ID, OldTokenHash: t3, NewTokenHash: back})
		if !errors.Is(err, sessionguard.ErrDuplicateToken) || ok {
			t.Errorf("Reauthenticate to a retired token = %v, %v; want ErrDuplicateToken", ok, err)
		}
	}
	_, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: s.ID, OldTokenHash: t2, NewTokenHash: t0})
	if !errors.Is(err, sessionguard.ErrDuplicateToken) || ok {
		t.Errorf("Reauthenticate back to the session's own first token = %v, %v; want ErrDuplicateToken", ok, err)
	}

	for hash, want := range map[string]sessionguard.State{t0: sessionguard.StateUnknown, t1: sessionguard.StateUnknown,
		t2: sessionguard.StateValid, t3: sessionguard.StateValid} {
		if st, err := f.store.Validate(ctx, hash, sessionguard.Scope{}); err != nil || st.State != want {
			t.Errorf("Validate = %q, %v; want %q", st.State, err, want)
		}
	}
	var sessions int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessions").Scan(&sessions); err != nil || sessions != 2 {
		t.Errorf("%d sessions (%v), want the 2 created", sessions, err)
	}
}

// TestRetiredTokensLastAsLongAsTheirSession: a retired hash is refused as
// long as its session's row exists, ended or not, and goes with the row
// when the Cleaner purges it, like the ended session's own hash, and with
// every row when sessions is truncated (migration 031's triggers).
func TestRetiredTokensLastAsLongAsTheirSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	t0, s := f.create(t, nil)
	t1 := newHash(t)
	rotate(t, f, s.ID, t0, t1)
	recreate := func() error {
		_, err := f.store.Create(ctx, sessionguard.NewSession{TokenHash: t0, UserID: f.user, AppType: sessionguard.ControlPanel})
		return err
	}
	retired := func() int {
		var n int
		if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_retired_tokens WHERE session_id = $1", s.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	endedAgo(t, f, t1, 30*time.Minute)
	res, err := newCleaner(t, f.pool, pgstore.CleanerConfig{Retention: time.Hour}).RunOnce(ctx)
	if err != nil || res.Purged != 0 {
		t.Fatalf("RunOnce = %+v, %v; want nothing purged", res, err)
	}
	if err := recreate(); !errors.Is(err, sessionguard.ErrDuplicateToken) {
		t.Fatalf("Create of the retired token of an ended, unpurged session = %v, want ErrDuplicateToken", err)
	}
	if n := retired(); n != 1 {
		t.Fatalf("%d retired hashes before the purge, want 1", n)
	}

	res, err = newCleaner(t, f.pool, pgstore.CleanerConfig{Retention: time.Minute}).RunOnce(ctx)
	if err != nil || res.Purged != 1 {
		t.Fatalf("RunOnce = %+v, %v; want the session purged", res, err)
	}
	if n := retired(); n != 0 {
		t.Fatalf("%d retired hashes after the purge, want 0", n)
	}
	if err := recreate(); err != nil {
		t.Fatalf("Create after the purge: %v (the hash is free with its session's row gone)", err)
	}

	t2, s2 := f.create(t, nil)
	rotate(t, f, s2.ID, t2, newHash(t))
	mustExec(t, f, "TRUNCATE sessions")
	var all int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_retired_tokens").Scan(&all); err != nil || all != 0 {
		t.Fatalf("%d retired hashes after TRUNCATE sessions (%v), want 0", all, err)
	}
}

// TestCreateWaitingOnTheRotation: a Create of the token a rotation is
// retiring waits on the UNIQUE index for the rotation's transaction and,
// once it commits, is refused. A check that read with the Create's
// statement snapshot, taken before the wait, missed the retired row.
func TestCreateWaitingOnTheRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	// A database or role whose default_transaction_isolation is repeatable
	// read or serializable: the Create's statement is its own transaction,
	// whose snapshot is taken before the wait and kept by every query of
	// 031's trigger (migration 032 probes the retired hash's index instead).
	for _, isolation := range isolationLevels {
		store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			commit bool
			limit  sessionguard.SessionLimit // set: Create's transaction starts before the wait
		}{{true, sessionguard.SessionLimit{}}, {false, sessionguard.SessionLimit{}}, {true, sessionguard.SessionLimit{Max: 100}}} {
			commit := c.commit
			t0, s := f.create(t, nil)
			tx, err := f.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Reauthenticate's statement, in a transaction held open.
			if _, err := tx.Exec(ctx, "UPDATE sessions SET session_token_hash = $2 WHERE id = $1", s.ID, newHash(t)); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := store.Create(ctx, sessionguard.NewSession{TokenHash: t0, UserID: f.user, AppType: sessionguard.ControlPanel, Limit: c.limit})
				done <- err
			}()
			waitForLockWaits(t, f, 1)
			if commit {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			// Committed: T0 is retired. Rolled back: T0 is the session's again.
			if err := <-done; !errors.Is(err, sessionguard.ErrDuplicateToken) {
				t.Errorf("%s, commit %v, limit %d: Create of the token being retired = %v, want ErrDuplicateToken", isolation, commit, c.limit.Max, err)
			}
		}
		// A token never retired still opens a session at this isolation
		// level, and leaves nothing in the table of retired hashes.
		if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: newHash(t), UserID: f.user, AppType: sessionguard.ControlPanel}); err != nil {
			t.Errorf("%s: Create of a fresh token: %v", isolation, err)
		}
	}
	var retired int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_retired_tokens").Scan(&retired); err != nil || retired != 6 {
		t.Errorf("%d retired hashes (%v), want 6, one per committed rotation", retired, err)
	}
}

// TestCreateRacingTheRotation races Create of a session's token against the
// Reauthenticate that rotates it out, many times: the rotation always
// succeeds and the Create never does, whichever reaches the database first.
func TestCreateRacingTheRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	const rounds = 200
	for i := range rounds {
		t0, s := f.create(t, nil)
		t1 := newHash(t)
		var (
			wg        sync.WaitGroup
			start     = make(chan struct{})
			createErr error
			rotated   bool
			rotateErr error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, createErr = f.store.Create(ctx, sessionguard.NewSession{TokenHash: t0, UserID: f.user, AppType: sessionguard.ControlPanel})
		}()
		go func() {
			defer wg.Done()
			<-start
			_, rotated, rotateErr = f.store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: s.ID, OldTokenHash: t0, NewTokenHash: t1})
		}()
		close(start)
		wg.Wait()
		if rotateErr != nil || !rotated {
			t.Fatalf("round %d: Reauthenticate = %v, %v", i, rotated, rotateErr)
		}
		if !errors.Is(createErr, sessionguard.ErrDuplicateToken) {
			t.Fatalf("round %d: Create of the token being rotated out = %v, want ErrDuplicateToken", i, createErr)
		}
	}
	var n int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessions").Scan(&n); err != nil || n != rounds {
		t.Fatalf("%d sessions (%v), want %d", n, err, rounds)
	}
}

// TestRetiredTokenNeedsNoGrant: the application's role needs no privilege
// on sessionguard_retired_tokens (migration 031's triggers run as the
// migration's role) to create, re-authenticate and delete sessions, and
// cannot delete a retired hash to revive a token.
func TestRetiredTokenNeedsNoGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	role := newAppRole(t, f)
	app, err := pgstore.New(role, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t0, t1 := newHash(t), newHash(t)
	s, err := app.Create(ctx, sessionguard.NewSession{TokenHash: t0, UserID: f.user, AppType: sessionguard.ControlPanel})
	if err != nil {
		t.Fatalf("Create as the application's role: %v", err)
	}
	if _, ok, err := app.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: s.ID, OldTokenHash: t0, NewTokenHash: t1}); err != nil || !ok {
		t.Fatalf("Reauthenticate as the application's role = %v, %v", ok, err)
	}
	if _, err := app.Create(ctx, sessionguard.NewSession{TokenHash: t0, UserID: f.user, AppType: sessionguard.ControlPanel}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
		t.Fatalf("Create of the retired token as the application's role = %v, want ErrDuplicateToken", err)
	}
	for _, sql := range []string{"SELECT count(*) FROM sessionguard_retired_tokens", "DELETE FROM sessionguard_retired_tokens"} {
		if _, err := role.Exec(ctx, sql); err == nil || !containsCode(err, "42501") {
			t.Errorf("%s as the application's role: %v, want permission denied", sql, err)
		}
	}
	// Deleting a session (as a Cleaner's role may) deletes its retired hashes.
	if _, err := role.Exec(ctx, "DELETE FROM sessions WHERE id = $1", s.ID); err != nil {
		t.Fatalf("DELETE of a session with retired hashes as the application's role: %v", err)
	}
	var left int
	if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_retired_tokens").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d retired hashes after the session's row was deleted (%v), want 0", left, err)
	}
}

// TestDefinerFunctionsAreNotPublic: the SECURITY DEFINER functions of the
// migrations run with the migrating role's rights, and a trigger function
// runs on whatever table a trigger puts it. PostgreSQL lets everyone execute
// a new function: a role with no right at all put 031's
// sessionguard_forget_retired_tokens on a TRUNCATE trigger of a temporary
// table of its own, truncated it, and every retired hash was gone, so a
// token a re-authentication had rotated out opened a new session. Only
// their owner may execute them (migrations 034 and 035); the triggers on
// the schema's tables still fire for every role (TestRetiredTokenNeedsNoGrant).
func TestDefinerFunctionsAreNotPublic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	role := pgtest.NewRole(t, f.pool)
	rows, err := f.pool.Query(ctx, `SELECT p.oid::regprocedure::text FROM pg_proc p
		WHERE p.prosecdef AND p.pronamespace = current_schema()::regnamespace
		  AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1`, role)
	if err != nil {
		t.Fatal(err)
	}
	public, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(public) != 0 {
		t.Errorf("SECURITY DEFINER functions any role may execute: %v", public)
	}

	old := newHash(t)
	s, err := f.store.Create(ctx, sessionguard.NewSession{TokenHash: old, UserID: f.user, AppType: sessionguard.ControlPanel})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: s.ID, OldTokenHash: old, NewTokenHash: newHash(t)}); err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
	conn, err := pgtest.PoolAs(t, f.pool, role).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, sql := range []string{
		`CREATE TEMPORARY TABLE own (id uuid, session_token_hash text)`,
		`CREATE TRIGGER forget AFTER TRUNCATE ON own FOR EACH STATEMENT EXECUTE FUNCTION sessionguard_forget_retired_tokens()`,
		`TRUNCATE own`,
	} {
		_, err := conn.Exec(ctx, sql)
		if strings.HasPrefix(sql, "CREATE TRIGGER") {
			if !containsCode(err, "42501") { // insufficient_privilege
				t.Errorf("%s by a role with no rights: %v, want permission denied", sql, err)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if _, err := f.store.Create(ctx, sessionguard.NewSession{TokenHash: old, UserID: f.user, AppType: sessionguard.ControlPanel}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
		t.Fatalf("Create of the rotated-out token after another role truncated its own table = %v, want ErrDuplicateToken", err)
	}
}

// isolationLevels are the transaction isolation levels a database or role
// may make the default (default_transaction_isolation).
var isolationLevels = []string{"read committed", "repeatable read", "serializable"}

// poolAtIsolation is a pool on f's database whose transactions run at
// isolation unless they say otherwise, closed when the test ends.
func poolAtIsolation(t *testing.T, f fixture, isolation string) *pgxpool.Pool {
	t.Helper()
	cfg := f.pool.Config()
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = isolation
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func containsCode(err error, code string) bool {
	var pgErr interface{ SQLState() string }
	return errors.As(err, &pgErr) && pgErr.SQLState() == code
}

// newAppRole returns a pool acting as a role with the rights pgstore's
// Create, Reauthenticate and Cleaner need (README, "Database roles") and
// nothing on sessionguard_retired_tokens.
func newAppRole(t *testing.T, f fixture) *pgxpool.Pool {
	t.Helper()
	role := pgtest.NewRole(t, f.pool)
	mustExec(t, f, "GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO "+role)
	mustExec(t, f, "GRANT SELECT, UPDATE, DELETE ON sessionguard_scs_data TO "+role)
	return pgtest.PoolAs(t, f.pool, role)
}

// TestPurgeForgetsRetiredHashesPerStatement: deleting many session rows in
// one statement (the Cleaner's purge, a batch of BatchSize; an operator's
// delete of millions) forgets their retired hashes and their scs data in
// one statement of each trigger, not one per row: 031's and 026's per-row
// triggers ran a function, with its switch of search_path, and an index
// lookup for every row deleted (migration 033). Each deleted session's
// hashes and data go, and no other's; a DELETE of no row needs no right
// on the scs data.
func TestPurgeForgetsRetiredHashesPerStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	const rows = 60
	var kept sessionguard.SessionInfo
	var keptHash string
	for i := range rows {
		t0, s := f.create(t, nil)
		t1 := newHash(t)
		if i%20 == 0 {
			rotate(t, f, s.ID, t0, t1)
			kept, keptHash = s, t1
		} else {
			t1 = t0
		}
		mustExec(t, f, "INSERT INTO sessionguard_scs_data (token_hash, data, expiry) VALUES ($1, '\\x00', now() + interval '1 hour')", t1)
	}
	var plan []struct {
		Triggers []struct {
			Name  string `json:"Trigger Name"`
			Calls int    `json:"Calls"`
		} `json:"Triggers"`
	}
	if err := f.pool.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM sessions WHERE id <> $1`, kept.ID).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	ran := map[string]int{}
	for _, tr := range plan[0].Triggers {
		ran[tr.Name] = tr.Calls
	}
	for _, name := range []string{"sessionguard_retired_tokens_on_session_delete", "sessionguard_scs_data_on_session_delete"} {
		if _, ok := ran[name]; !ok {
			t.Errorf("trigger %s did not run for a DELETE of %d rows", name, rows-1)
		}
	}
	for name, calls := range ran {
		if (strings.HasPrefix(name, "sessionguard_retired_tokens_on_") || strings.HasPrefix(name, "sessionguard_scs_data_on_")) && calls != 1 {
			t.Errorf("trigger %s ran %d times for one DELETE of %d rows, want once", name, calls, rows-1)
		}
	}
	var left, leftKept, data, dataKept int
	if err := f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE session_id = $1) FROM sessionguard_retired_tokens`, kept.ID).Scan(&left, &leftKept); err != nil {
		t.Fatal(err)
	}
	if left != 1 || leftKept != 1 {
		t.Errorf("%d retired hashes left (%d of the kept session), want the kept session's 1", left, leftKept)
	}
	if err := f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE token_hash = $1) FROM sessionguard_scs_data`, keptHash).Scan(&data, &dataKept); err != nil {
		t.Fatal(err)
	}
	if data != 1 || dataKept != 1 {
		t.Errorf("%d scs data rows left (%d of the kept session), want the kept session's 1", data, dataKept)
	}

	// A role without rights on the scs data deletes no session without
	// an error, as before 033.
	role := pgtest.NewRole(t, f.pool)
	mustExec(t, f, "GRANT SELECT, DELETE ON sessions TO "+role)
	if _, err := pgtest.PoolAs(t, f.pool, role).Exec(ctx, "DELETE FROM sessions WHERE ended_at < now() - interval '1 day'"); err != nil {
		t.Errorf("a DELETE of no session by a role without rights on the scs data: %v", err)
	}

	// A user's deletion deletes their sessions (the seed's ON DELETE
	// CASCADE), in a statement of its own that the triggers see too.
	mustExec(t, f, "DELETE FROM users WHERE id = $1", f.user)
	if err := f.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM sessionguard_retired_tokens) + (SELECT count(*) FROM sessionguard_scs_data)").Scan(&left); err != nil || left != 0 {
		t.Errorf("%d retired hashes and scs data rows (%v) after the user's deletion, want 0", left, err)
	}
}
