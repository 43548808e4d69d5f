package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/sessionguard/sessionguard"
)

// ExpireNextPageSQL exposes the expiry's statement to the external tests,
// which check its plan on a large table.
const ExpireNextPageSQL = expireNextPageSQL

// ReadSQL and ReadBatchSQL are the token lookup's statements (lookup.go),
// whose plans the external tests check.
var ReadSQL, ReadBatchSQL = readSQL, readBatchSQL

// WriteBatchSQL is the batched touch's statement, whose plan the tests check.
const WriteBatchSQL = writeBatchSQL

// PeekBatch is Peek for many sessions read by one statement (readBatchSQL),
// decided by the same rules: what a batch answers each of its lookups.
func PeekBatch(ctx context.Context, s *Store, hashes []string, scopes []sessionguard.Scope) ([]sessionguard.Status, error) {
	rows := make([]readResult, len(hashes))
	if err := s.readBatch(ctx, hashes, rows); err != nil {
		return nil, err
	}
	out := make([]sessionguard.Status, len(rows))
	for i, r := range rows {
		if !r.found {
			out[i] = sessionguard.Status{State: sessionguard.StateUnknown}
			continue
		}
		out[i], _ = r.row.decide(scopes[i], s.TouchInterval())
	}
	return out, nil
}

// TouchBatch runs sessionguard_check with a touch for hashes in one
// statement (writeBatchSQL; one hash: checkSQL), each in its scope. Its
// error joins the touches' errors: TouchEach gives each touch's own.
func TouchBatch(ctx context.Context, s *Store, hashes []string, scopes []sessionguard.Scope) ([]sessionguard.Status, error) {
	out, errs := TouchEach(ctx, s, hashes, scopes)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// TouchEach is TouchBatch answering each touch as the batcher answers its
// caller: its status, or its error.
func TouchEach(ctx context.Context, s *Store, hashes []string, scopes []sessionguard.Scope) ([]sessionguard.Status, []error) {
	reqs := make([]writeRequest, len(hashes))
	for i, h := range hashes {
		reqs[i].hash = h
		if scopes[i].AppType != "" {
			app := string(scopes[i].AppType)
			reqs[i].appType = &app
		}
		reqs[i].tenant = nullIfZero(scopes[i].TenantID)
	}
	out := make([]sessionguard.Status, len(reqs))
	errs := make([]error, len(reqs))
	s.writeBatch(ctx, reqs, out, errs)
	return out, errs
}

// SetInTurn makes c call f in each batch's transaction, right after taking
// the cleanup lock, so tests can see whether two batches hold it at once.
func SetInTurn(c *Cleaner, f func()) { c.inTurn = f }

// LiveSQL exposes the liveness rule to the test that holds it to decide and
// sessionguard_check.
const LiveSQL = liveSQL

// SetNotReplicaRecheck sets how long s skips a ReadPool that is not in
// recovery, before s is used: a test's reads then land inside the window
// however slow the machine.
func SetNotReplicaRecheck(s *Store, d time.Duration) { s.notReplicaRecheck = d }

// PrimaryPosition is the WAL position s fences at: where the primary's WAL
// ends, as s asks it after a revocation.
func PrimaryPosition(ctx context.Context, s *Store) (string, error) {
	pos, _, err := s.primaryPosition(ctx, s.pool)
	return pos, err
}
