package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestLockTimeout: a command whose statement waits for a lock that another
// session holds (an application's transaction left open, a DBA's LOCK
// TABLE) gives up after --lock-timeout, names the session that holds it,
// and leaves no statement waiting behind it; directly and through
// PgBouncer in transaction pooling, where PostgreSQL's own lock_timeout
// cannot be set. Before, every command waited for as long as the lock was
// held, saying nothing.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		bounced bool
		hold    string // run in the holder's open transaction; $1 a session of the user
		args    []string
	}{
		{"sessions revoke --user", false, "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE",
			[]string{"sessions", "revoke", "--user", "USER", "--reason", "account_disabled", "--yes"}},
		{"sessions revoke --everyone, through PgBouncer", true, "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE",
			[]string{"sessions", "revoke", "--everyone", "--reason", "key_leak", "--yes"}},
		{"sessions revoke --session", false, "SELECT 1 FROM sessions WHERE id = $1 FOR NO KEY UPDATE",
			[]string{"sessions", "revoke", "--session", "SESSION", "--reason", "admin_revoke", "--yes"}},
		{"cleanup", false, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE", []string{"cleanup"}},
		{"cleanup, through PgBouncer", true, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE", []string{"cleanup"}},
		{"sessions list", false, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE", []string{"sessions", "list", "--user", "USER"}},
		{"stats", false, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE", []string{"stats"}},
		{"migrate", false, "LOCK TABLE sessionguard_schema_migrations IN ACCESS EXCLUSIVE MODE", []string{"migrate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f *fixture
			var env map[string]string
			if tt.bounced {
				bc := pgtest.NewBounced(t)
				f = &fixture{pool: bc.Direct, store: newStore(t, bc.Direct)}
				env = map[string]string{"DATABASE_URL": bc.ConnString}
			} else {
				f = newFixture(t)
				env = dbEnv(f.pool)
			}
			user := f.user(t, "user@example.com")
			s, _ := f.session(t, sessionguard.NewSession{UserID: user})
			// For the list and the revoke by user, one session the lock
			// leaves alone besides the one it holds.
			other, _ := f.session(t, sessionguard.NewSession{UserID: user})

			holder, err := f.pool.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Rollback(context.Background())
			var args []any
			if strings.Contains(tt.hold, "$1") {
				args = append(args, s.ID)
			}
			if _, err := holder.Exec(t.Context(), tt.hold, args...); err != nil {
				t.Fatal(err)
			}
			pid := holder.Conn().PgConn().PID()

			cmd := append([]string(nil), tt.args...)
			for i, a := range cmd {
				cmd[i] = strings.NewReplacer("USER", itoa(user), "SESSION", s.ID).Replace(a)
			}
			start := time.Now()
			r := runCmd(t, env, nil, append(cmd, "--lock-timeout", "300ms")...)
			took := time.Since(start)
			if r.code != exitFailure {
				t.Fatalf("exit status %d, want %d; stdout %q, stderr %q", r.code, exitFailure, r.stdout, r.stderr)
			}
			for _, want := range []string{
				"gave up after waiting 300ms (--lock-timeout) for a lock held by pid " + fmt.Sprint(pid),
				"in a transaction open for",
				fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid),
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "context canceled") {
				t.Errorf("stderr leaves the operator with %q:\n%s", "context canceled", r.stderr)
			}
			if took > 20*time.Second {
				t.Errorf("the command returned after %v", took)
			}
			// The statement that waited was cancelled in the database,
			// while the lock is still held.
			waitingBehind := func() int {
				var n int
				if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
					WHERE application_name LIKE 'sessionguard cli %' AND datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			for deadline := time.Now().Add(10 * time.Second); waitingBehind() > 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("a backend of the command still waits for the lock 10s after it gave up")
				}
			}
			if err := holder.Rollback(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{s.ID, other.ID} {
				if active, reason := f.endReason(t, id); !active {
					t.Errorf("session %s ended (%q) by a command that gave up", id, reason)
				}
			}
		})
	}
}

// TestLockTimeoutZeroWaits: --lock-timeout 0 waits for as long as the lock
// is held, and the command then does its work.
func TestLockTimeoutZeroWaits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	s, _ := f.session(t, sessionguard.NewSession{UserID: user})
	holder, err := f.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(t.Context(), "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", s.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		done <- runCmd(t, dbEnv(f.pool), nil, "sessions", "revoke", "--user", itoa(user), "--reason", "account_disabled", "--yes", "--lock-timeout", "0")
	}()
	select {
	case r := <-done:
		t.Fatalf("the command returned while the lock was held: %d, %q", r.code, r.stderr)
	case <-time.After(time.Second):
	}
	if err := holder.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.code != exitOK || !strings.Contains(r.stdout, "revoked 1 session") {
		t.Fatalf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestPgBouncerRefusesLockTimeout is why the commands watch their lock
// waits themselves: PgBouncer refuses a connection that sets lock_timeout as
// a startup parameter, so a DATABASE_URL through it cannot carry one.
func TestPgBouncerRefusesLockTimeout(t *testing.T) {
	t.Parallel()
	bc := pgtest.NewBounced(t)
	cfg, err := pgx.ParseConfig(bc.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["lock_timeout"] = "10s"
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err == nil {
		conn.Close(context.Background())
		t.Fatal("PgBouncer took lock_timeout as a startup parameter")
	}
	if !strings.Contains(err.Error(), "unsupported startup parameter") {
		t.Fatalf("connect with lock_timeout: %v", err)
	}
}

// TestLockTimeoutLeavesARunningStatement: the bound is on waiting for a
// lock only: a statement that works (here it sleeps) longer than
// --lock-timeout runs to its end.
func TestLockTimeoutLeavesARunningStatement(t *testing.T) {
	t.Parallel()
	env := dbEnv(pgtest.NewPool(t))
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	pool, err := connect(withGiveUp(ctx, cancel), func(k string) string { return env[k] }, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "SELECT pg_sleep(1.5)"); err != nil {
		t.Fatalf("a statement running 15 times --lock-timeout: %v (cause %v)", err, context.Cause(ctx))
	}
}

// TestLockTimeoutBoundsEachWait: --lock-timeout bounds each wait for a
// lock, as PostgreSQL's lock_timeout does, not a run of waits one after the
// other. A revoke of a user's sessions whose rows two transactions hold,
// each released after 0.6 of the limit, waits 1.2 of it in all but never
// the limit for one lock, and revokes both. Before, the watch took two
// waits that followed each other for one, and gave up.
func TestLockTimeoutBoundsEachWait(t *testing.T) {
	t.Parallel()
	const limit = 2 * time.Second
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	f.session(t, sessionguard.NewSession{UserID: user})
	f.session(t, sessionguard.NewSession{UserID: user})
	// The revoke locks its rows in token hash order (pgstore's endInOrder):
	// the first holder holds the row it takes first.
	rows, err := f.pool.Query(t.Context(), `SELECT id::text FROM sessions WHERE user_id = $1 ORDER BY session_token_hash COLLATE "C"`, user)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) != 2 {
		t.Fatalf("sessions %v, %v", ids, err)
	}
	var holders []pgx.Tx
	for _, id := range ids {
		tx, err := f.pool.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		if _, err := tx.Exec(t.Context(), "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", id); err != nil {
			t.Fatal(err)
		}
		holders = append(holders, tx)
	}
	done := make(chan result, 1)
	go func() {
		done <- runCmd(t, dbEnv(f.pool), nil, "sessions", "revoke", "--user", itoa(user), "--reason", "account_disabled", "--yes",
			"--lock-timeout", limit.String())
	}()
	for _, h := range holders {
		// Wait until the revoke waits for this holder, then let it wait
		// 0.6 of the limit.
		pid := h.Conn().PgConn().PID()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var waits bool
			if err := f.pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
				WHERE application_name LIKE 'sessionguard cli %' AND $1 = ANY (pg_blocking_pids(pid)))`, pid).Scan(&waits); err != nil {
				t.Fatal(err)
			}
			if waits {
				break
			}
			select {
			case r := <-done:
				t.Fatalf("the command returned before waiting for pid %d: %d, %q", pid, r.code, r.stderr)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("the revoke never waited for pid %d", pid)
			}
		}
		time.Sleep(limit * 6 / 10)
		if err := h.Rollback(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if r := <-done; r.code != exitOK || !strings.Contains(r.stdout, "revoked 2 sessions") {
		t.Fatalf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestLockWatchRefused: a server older than 14 has no pg_locks.waitstart,
// which the watch reads, so a --lock-timeout there is refused before any
// work rather than silently bounding nothing; the release the tests run
// on is accepted by connect (TestLockTimeout).
func TestLockWatchRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version int
		refused bool
	}{
		{130014, true},
		{139999, true},
		{140000, false},
		{150010, false},
		{170000, false},
	}
	for _, tt := range tests {
		err := lockWatchRefused(tt.version)
		if (err != nil) != tt.refused {
			t.Errorf("lockWatchRefused(%d) = %v, want refused %v", tt.version, err, tt.refused)
		}
		if err != nil && (exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--lock-timeout 0")) {
			t.Errorf("lockWatchRefused(%d) = %v (exit %d): not a usage error that names the way out", tt.version, err, exitCode(err))
		}
	}
}

// TestLockTimeoutThroughPgBouncerLeavesOthersWaits: PgBouncer keeps the
// application_name a server connection last had for the next client that
// sets none, so an application's statement can run under this run's name.
// When that statement waits behind one of the run's own (a revoke or a
// cleanup holding rows the application's requests touch), the wait is not
// the run's: its statement, which runs, is left alone. Before, the watch
// cancelled it (and a revoke of everyone was rolled back).
func TestLockTimeoutThroughPgBouncerLeavesOthersWaits(t *testing.T) {
	t.Parallel()
	bc := pgtest.NewBounced(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	pool, err := connect(withGiveUp(ctx, cancel), func(k string) string {
		return map[string]string{"DATABASE_URL": bc.ConnString}[k]
	}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var application string
	if err := pool.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&application); err != nil {
		t.Fatal(err)
	}

	// The run's statement takes a lock and works for 2s holding it.
	ran := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, "SELECT pg_advisory_xact_lock(7301), pg_sleep(2)")
		ran <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var held bool
		if err := bc.Direct.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND objid = 7301 AND granted)`).Scan(&held); err != nil {
			t.Fatal(err)
		}
		if held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run's statement never took its lock")
		}
	}

	// An application that sets no application_name, on a server connection
	// the run used: it waits behind the run's lock.
	cfg, err := pgx.ParseConfig(bc.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	delete(cfg.RuntimeParams, "application_name")
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	var app pgx.Tx
	for tries := 0; app == nil; tries++ {
		if tries == 8 {
			t.Fatal("no application transaction landed on a server connection of the run")
		}
		conn, err := pgx.ConnectConfig(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		tx, err := conn.Begin(t.Context()) // holds its server connection
		if err != nil {
			t.Fatal(err)
		}
		var name string
		if err := tx.QueryRow(t.Context(), "SELECT current_setting('application_name')").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name == application {
			app = tx
		}
	}
	appDone := make(chan struct{})
	go func() {
		defer close(appDone)
		_, _ = app.Exec(context.Background(), "SELECT pg_advisory_xact_lock(7301)")
	}()
	defer func() { <-appDone }() // before its connection closes

	if err := <-ran; err != nil {
		t.Fatalf("the run's statement, which ran and waited for nothing: %v (cause %v)", err, context.Cause(ctx))
	}
}
