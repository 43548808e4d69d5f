package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/schema"
)

// schema.Migrate waits for its turn (the migration lock, schema.LockKey)
// by polling pg_try_advisory_xact_lock between transactions, so while
// another session holds the lock no statement of the run waits in pg_locks,
// and watchLockWaits never sees the wait. watchMigrationTurn bounds it
// instead, by the lock's holder: the lock is transaction-scoped, so a
// transaction seen holding it on two polls held it all the time between,
// and the run could not have had its turn.

// migrationLockHoldersSQL lists the transactions, of backends not named $1,
// that hold the migration lock (classid $2, objid $3, objsubid 1 for a
// bigint key), each with its backend as lockHoldersSQL describes one. The
// run's own backends, which hold it while they migrate, are left out by
// name.
const migrationLockHoldersSQL = `SELECT l.virtualtransaction, l.pid, b.usename, b.application_name, b.state,
		extract(epoch FROM clock_timestamp() - b.xact_start)::float8
	FROM pg_locks l LEFT JOIN pg_stat_activity b ON b.pid = l.pid
	WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid = $2::bigint::oid AND l.objid = $3::bigint::oid
		AND b.application_name IS DISTINCT FROM $1`

// watchMigrationTurn starts, when limit > 0 and ctx carries withGiveUp's
// cancel, a goroutine that cancels ctx with a *lockWaitError once one
// transaction of another session has held the migration lock for limit,
// as seen from polls (so up to a tenth of limit later, at most a second).
// Start it when the run starts waiting (schema.Migrate is called); it ends
// with ctx.
func watchMigrationTurn(ctx context.Context, pool *pgxpool.Pool, limit time.Duration) {
	cancel, ok := ctx.Value(giveUpKey{}).(context.CancelCauseFunc)
	if !ok || limit <= 0 {
		return
	}
	application := pool.Config().ConnConfig.RuntimeParams["application_name"]
	every := min(max(limit/10, 20*time.Millisecond), time.Second)
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		firstSeen := map[string]time.Time{} // by virtualtransaction
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// An error: the pool closed, or the next poll may answer.
			held, err := migrationLockHolders(ctx, pool, application)
			if err != nil {
				continue
			}
			now := time.Now()
			seen := make(map[string]time.Time, len(held))
			for _, h := range held {
				since, ok := firstSeen[h.transaction]
				if !ok {
					since = now
				}
				seen[h.transaction] = since
				if now.Sub(since) >= limit {
					var holders []lockHolder
					if h.pid != 0 {
						holders = append(holders, h.lockHolder)
					}
					cancel(&lockWaitError{limit: limit, holders: holders, migrationTurn: true})
					return
				}
			}
			firstSeen = seen
		}
	}()
}

// migrationLockHolder is a transaction that holds the migration lock.
type migrationLockHolder struct {
	transaction string // pg_locks.virtualtransaction
	lockHolder         // pid 0 for a prepared transaction, which has none
}

func migrationLockHolders(ctx context.Context, pool *pgxpool.Pool, application string) ([]migrationLockHolder, error) {
	rows, err := pool.Query(ctx, migrationLockHoldersSQL, application, schema.LockKey>>32, schema.LockKey&0xffffffff)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var held []migrationLockHolder
	for rows.Next() {
		var transaction string
		var pid *int32
		var user, app, state *string
		var age *float64
		if err := rows.Scan(&transaction, &pid, &user, &app, &state, &age); err != nil {
			return nil, err
		}
		h := migrationLockHolder{transaction: transaction, lockHolder: lockHolder{user: deref(user), application: deref(app), state: deref(state), transactionAge: -1}}
		if pid != nil {
			h.pid = *pid
		}
		if age != nil {
			h.transactionAge = time.Duration(*age * float64(time.Second))
		}
		held = append(held, h)
	}
	return held, rows.Err()
}
