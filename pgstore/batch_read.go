package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// startBatching sets up the read batcher for Config.MaxBatch.
func (s *Store) startBatching(maxBatch int) error {
	switch {
	case maxBatch == 0:
		maxBatch = DefaultMaxBatch
	case maxBatch < 0:
		return fmt.Errorf("pgstore: new: %w: MaxBatch %d is negative", ErrInvalidArgument, maxBatch)
	}
	if maxBatch > 1 {
		s.reads = newBatcher(maxBatch, s.readBatch)
		s.writes = newBatcher(maxBatch, s.writeBatch)
	}
	return nil
}

// readBatchSQL is readSQL for many sessions in one statement: the rows of
// the hashes in $1 (one per hash found), each with its hash, all read in the
// statement's one snapshot and with its one clock.
var readBatchSQL = liveFirstBatchSQL(readColumns)

// readRow reads the row of tokenHash (readSQL), through the batcher when
// batching is on. A hash without a row is pgx.ErrNoRows.
func (s *Store) readRow(ctx context.Context, tokenHash string) (sessionRow, error) {
	if s.reads == nil {
		var row sessionRow
		err := s.pool.QueryRow(ctx, readSQL, tokenHash).Scan(row.scanTargets()...)
		return row, err
	}
	r, err := s.reads.do(ctx, tokenHash)
	if err == nil && !r.found {
		err = pgx.ErrNoRows
	}
	return r.row, err
}

// readResult is one hash's answer in a batch.
type readResult struct {
	row   sessionRow
	found bool
}

// readBatch runs readBatchSQL for hashes and answers each in order. A
// batch of one runs readSQL, the statement of an idle store.
func (s *Store) readBatch(ctx context.Context, hashes []string) ([]readResult, error) {
	out := make([]readResult, len(hashes))
	if len(hashes) == 1 {
		err := s.pool.QueryRow(ctx, readSQL, hashes[0]).Scan(out[0].row.scanTargets()...)
		if errors.Is(err, pgx.ErrNoRows) {
			return out, nil
		}
		out[0].found = err == nil
		return out, err
	}
	rows, err := s.pool.Query(ctx, readBatchSQL, hashes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[string]sessionRow, len(hashes))
	var hash string
	for rows.Next() {
		var row sessionRow
		if err := rows.Scan(append([]any{&hash}, row.scanTargets()...)...); err != nil {
			return nil, err
		}
		found[hash] = row
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, h := range hashes {
		out[i].row, out[i].found = found[h]
	}
	return out, nil
}
