package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sessionguard/sessionguard"
)

// writeBatchSQL is checkSQL with a touch for many sessions in one statement:
// sessionguard_check once per element of the arrays, in their order, with
// the answers in that order. Each call decides and writes under its row's
// lock as a lone call does; the locks are held until the statement ends.
// The arrays go through a subquery with OFFSET 0 so that PostgreSQL uses the
// statement's prepared plan, as for the batched lookup (liveFirstBatchSQL).
const writeBatchSQL = `SELECT ` + checkColumns + `
	FROM (SELECT $1::text[] AS hashes, $2::text[] AS app_types, $3::int8[] AS tenant_ids OFFSET 0) x
	CROSS JOIN LATERAL unnest(x.hashes, x.app_types, x.tenant_ids) WITH ORDINALITY AS a(hash, app_type, tenant_id, i)
	CROSS JOIN LATERAL sessionguard_check(a.hash::varchar, true, $4::int, a.app_type::varchar, a.tenant_id::int) c` + authJoin + `
	ORDER BY a.i`

// writeRequest is one touch: callCheck's arguments.
type writeRequest struct {
	hash    string
	appType *string
	tenant  *int64
}

// deadlockDetected is PostgreSQL's SQLSTATE 40P01.
const deadlockDetected = "40P01"

// isDeadlock reports whether err is PostgreSQL failing a statement to break
// a deadlock: nothing it did remains, and it may be sent again.
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == deadlockDetected
}

// writeBatch runs sessionguard_check with a touch for every request and
// answers each in out, or in errs, in order. A batch of one is checkSQL, the
// lone call.
//
// The requests go in token hash order, so that two batches (of this or of
// another instance) lock their rows in one order and never wait for each
// other in a cycle; pgstore's own statements that end several sessions
// lock theirs in that order too (endInOrder). One that locks several rows
// in another order (the seed's functions, such as cleanup_expired_sessions
// under Store.Cleanup, or an app's own SQL) can still meet a batch in a
// deadlock, which PostgreSQL breaks by failing one of them; when the batch
// is the one, each touch is sent again on its own (sentAgainAlone). So it is
// when the pool's transactions are REPEATABLE READ or SERIALIZABLE and a row
// the batch waited for changed before it got the lock (40001): a session
// revoked meanwhile then answers "revoked", not an error; and when the
// batch gave up waiting for one row's lock (lock_timeout). Each touch sent
// again answers its own caller: one that fails again fails its caller
// alone (TestTouchBatchFallbackAnswersEachTouchOnItsOwn).
func (s *Store) writeBatch(ctx context.Context, reqs []writeRequest, out []sessionguard.Status, errs []error) {
	if len(reqs) == 1 {
		out[0], errs[0] = s.writeOne(ctx, reqs[0])
		return
	}
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(reqs[a].hash, reqs[b].hash) })
	hashes := make([]string, len(reqs))
	apps := make([]*string, len(reqs))
	tenants := make([]*int64, len(reqs))
	for k, i := range order {
		hashes[k], apps[k], tenants[k] = reqs[i].hash, reqs[i].appType, reqs[i].tenant
	}
	err := s.queryWriteBatch(ctx, hashes, apps, tenants, func(k int, st sessionguard.Status) { out[order[k]] = st })
	if sentAgainAlone(err) {
		for i, r := range reqs {
			out[i], errs[i] = s.writeOne(ctx, r)
		}
		return
	}
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
	}
}

// lockNotAvailable is PostgreSQL's SQLSTATE 55P03: lock_timeout passed while
// a statement waited for a row lock.
const lockNotAvailable = "55P03"

// sentAgainAlone reports whether the touches of a batch whose statement
// failed with err are each sent again on their own: the errors one row
// causes for the whole batch while alone every other touch would pass (a
// deadlock or a serialization failure over one row, one row's lock held
// past lock_timeout). PostgreSQL failed the statement, so nothing it did
// remains and each touch does alone what it would have done. Any other
// error fails every touch of the batch. Most say that the database, not one
// row, is in trouble (a lost connection, statement_timeout, too many
// connections), where N statements more would add to the trouble and delay
// every answer by N round trips; an error that an app's own trigger raises
// for one row fails the batch too.
func sentAgainAlone(err error) bool {
	var pgErr *pgconn.PgError
	return isDeadlock(err) || isSerializationFailure(err) || errors.As(err, &pgErr) && pgErr.Code == lockNotAvailable
}

// writeOne is one touch, sent again after a serialization failure (a
// REPEATABLE READ or SERIALIZABLE pool whose statement waited for a write of
// its row, such as a revocation): nothing it did remains.
func (s *Store) writeOne(ctx context.Context, r writeRequest) (st sessionguard.Status, err error) {
	err = retrySerialization(func() error {
		st, err = scanCheck(s.pool.QueryRow(ctx, checkSQL, r.hash, true, s.touchIntervalSeconds, r.appType, r.tenant))
		return err
	})
	return st, err
}

// queryWriteBatch runs writeBatchSQL and hands each answer, with its index,
// to answer.
func (s *Store) queryWriteBatch(ctx context.Context, hashes []string, apps []*string, tenants []*int64,
	answer func(k int, st sessionguard.Status)) error {
	rows, err := s.pool.Query(ctx, writeBatchSQL, hashes, apps, tenants, s.touchIntervalSeconds)
	if err != nil {
		return err
	}
	defer rows.Close()
	k := 0
	for rows.Next() {
		st, err := scanCheck(rows)
		if err != nil {
			return err
		}
		if k < len(hashes) {
			answer(k, st)
		}
		k++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if k != len(hashes) {
		return fmt.Errorf("touch batch: %d answers for %d sessions", k, len(hashes))
	}
	return nil
}
