package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultLockTimeout is --lock-timeout's default: long enough for the
// application's short transactions and a migration's lock, short enough
// that an operator waiting on a revoke during an incident hears within
// seconds that something else holds the rows, and what.
const defaultLockTimeout = 10 * time.Second

// lockTimeout defines the --lock-timeout flag of a command that connects.
func (fs *flagSet) lockTimeout() *time.Duration {
	return fs.Duration("lock-timeout", defaultLockTimeout,
		"give up after waiting this long for a lock another session holds, and name it (0: no limit)")
}

// The bound is watched from the client, not set as PostgreSQL's
// lock_timeout: that is a startup parameter PgBouncer refuses ("unsupported
// startup parameter"), and a SET outside a transaction would stay on a
// server connection PgBouncer then hands the application. The command's
// connections carry an application_name of their own (PgBouncer sets it on
// whichever server connection runs their statements), by which the watch
// finds them in pg_stat_activity. A statement that runs is left alone
// however long it takes; only a wait for a lock is bounded.

// giveUpKey is the context key under which run leaves the function that
// cancels the command's context with a cause.
type giveUpKey struct{}

// withGiveUp returns ctx carrying cancel, for connect's lock watch.
func withGiveUp(ctx context.Context, cancel context.CancelCauseFunc) context.Context {
	return context.WithValue(ctx, giveUpKey{}, cancel)
}

// newApplicationName is the application_name of one run's connections: a
// DBA reading pg_stat_activity sees what they are, and the watch finds
// them and no other run's. Behind PgBouncer, an application that sets no
// application_name may later run under it too (lockHoldersSQL).
func newApplicationName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "sessionguard cli " + hex.EncodeToString(b[:])
}

// watchLockWaits starts, when limit > 0 and ctx carries withGiveUp's
// cancel, a goroutine that cancels ctx with a *lockWaitError once a
// statement of the connections named application has waited for one lock
// longer than limit (seen from polls, so up to a tenth of limit later, at
// most a second). Each wait is measured by the server (pg_locks.waitstart),
// as lock_timeout measures it: a statement that waits for several locks in
// turn, each for less than limit, is left alone however long they add up
// to (TestLockTimeoutBoundsEachWait). The goroutine ends with ctx, which
// run cancels when the command returns.
func watchLockWaits(ctx context.Context, pool *pgxpool.Pool, application string, limit time.Duration) {
	cancel, ok := ctx.Value(giveUpKey{}).(context.CancelCauseFunc)
	if !ok || limit <= 0 {
		return
	}
	every := min(max(limit/10, 20*time.Millisecond), time.Second)
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// An error: the pool closed, or the next poll may answer.
			if holders, waited, err := lockHolders(ctx, pool, application, limit); err == nil && waited {
				cancel(&lockWaitError{limit: limit, holders: holders})
				return
			}
		}
	}()
}

// lockHoldersSQL lists, for every backend named $1 that has waited for a
// lock for $2 seconds or longer, the sessions that hold it
// (pg_blocking_pids), one row each; a waiter whose holders are gone already
// has one row of NULLs. A backend waits for one lock at a time: its one
// ungranted row of pg_locks, whose waitstart (PostgreSQL 14) is when that
// wait began, NULL for an instant after. What PostgreSQL hides from a role
// without pg_read_all_stats (the state of another role's session) comes
// back NULL. No query text: another application's may hold values that
// must not reach a terminal.
//
// A wait behind a backend named $1 is not the run's: the run never waits
// for itself, but PgBouncer leaves a server connection the name its last
// client gave it, for the next client that sets none, so an application's
// statement may run under the run's name, and wait behind the run's own
// statement (a revoke holding the rows the application touches); that
// statement, which runs, is left alone
// (TestLockTimeoutThroughPgBouncerLeavesOthersWaits).
const lockHoldersSQL = `SELECT h.pid, b.usename, b.application_name, b.state,
		extract(epoch FROM clock_timestamp() - b.xact_start)::float8
	FROM pg_stat_activity w
	JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted
		AND l.waitstart <= clock_timestamp() - make_interval(secs => $2)
	LEFT JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS h (pid) ON true
	LEFT JOIN pg_stat_activity b ON b.pid = h.pid
	WHERE w.application_name = $1 AND w.pid <> pg_backend_pid()
		AND NOT EXISTS (SELECT 1 FROM pg_stat_activity o
			WHERE o.pid = ANY (pg_blocking_pids(w.pid)) AND o.application_name = $1)
	ORDER BY b.xact_start NULLS LAST`

// lockHolders reports whether a statement of application has waited for a
// lock for limit or longer, and who holds it.
func lockHolders(ctx context.Context, pool *pgxpool.Pool, application string, limit time.Duration) (holders []lockHolder, waited bool, err error) {
	rows, err := pool.Query(ctx, lockHoldersSQL, application, limit.Seconds())
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		waited = true
		var pid *int32
		var user, app, state *string
		var age *float64
		if err := rows.Scan(&pid, &user, &app, &state, &age); err != nil {
			return nil, false, err
		}
		if pid == nil {
			continue
		}
		h := lockHolder{pid: *pid, user: deref(user), application: deref(app), state: deref(state), transactionAge: -1}
		if age != nil {
			h.transactionAge = time.Duration(*age * float64(time.Second))
		}
		holders = append(holders, h)
	}
	return holders, waited, rows.Err()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// lockHolder is a session that held a lock the command waited for.
type lockHolder struct {
	pid               int32
	user, application string
	state             string        // "" when PostgreSQL does not show it to this role
	transactionAge    time.Duration // -1 when not known
}

func (h lockHolder) String() string {
	var about []string
	if h.user != "" {
		about = append(about, "user "+printable(h.user))
	}
	if h.application != "" {
		about = append(about, fmt.Sprintf("application %q", h.application))
	}
	if h.state != "" {
		about = append(about, h.state)
	}
	if h.transactionAge >= 0 {
		about = append(about, "in a transaction open for "+h.transactionAge.Round(time.Second).String())
	}
	if len(about) == 0 {
		return fmt.Sprintf("pid %d", h.pid)
	}
	return fmt.Sprintf("pid %d (%s)", h.pid, strings.Join(about, ", "))
}

// lockWaitError is why a command gave up: a statement of it waited longer
// than --lock-timeout for a lock. The watch cancelled the command's
// context, and with it the statement, which PostgreSQL then rolls back.
type lockWaitError struct {
	limit   time.Duration
	holders []lockHolder
	// migrationTurn: the lock was schema.Migrate's, for which the run
	// polls (watchMigrationTurn); no statement of it waited.
	migrationTurn bool
}

func (e *lockWaitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gave up after waiting %v (--lock-timeout) for ", e.limit)
	if e.migrationTurn {
		b.WriteString("schema.Migrate's migration lock ")
	} else {
		b.WriteString("a lock ")
	}
	switch len(e.holders) {
	case 0:
		b.WriteString("another session held")
	default:
		b.WriteString("held by ")
		for i, h := range e.holders {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(h.String())
		}
	}
	switch {
	case e.migrationTurn:
		// Ending the holder would roll back another instance's migration
		// at work, which a longer wait lets finish.
		b.WriteString(": nothing of this run waited in the database (it asks for its turn between transactions); " +
			"it may be another instance migrating. Run the command again when that transaction has ended")
	case len(e.holders) > 0:
		b.WriteString(": the database was asked to cancel the statement that waited. ")
		fmt.Fprintf(&b, "When that transaction has ended (SELECT pg_terminate_backend(%d) ends it), run the command again", e.holders[0].pid)
	default:
		b.WriteString(": the database was asked to cancel the statement that waited. Run the command again")
	}
	b.WriteString(", or give --lock-timeout more time (0: no limit)")
	return b.String()
}
