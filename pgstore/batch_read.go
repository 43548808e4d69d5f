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
const readBatchSQL = `SELECT session_token_hash, ` + readColumns + ` FROM sessions WHERE session_token_hash = ANY($1::text[])`

// readRow reads the row of tokenHash (readSQL), through the batcher when
// batching is on. A hash without a row is pgx.ErrNoRows.
func (s *Store) readRow(ctx context.Context, tokenHash string) (sessionRow, error) {
	if s.reads == nil {
		var row sessionRow
		err := s.pool.QueryRow(ctx, readSQL, tokenHash).Scan(&row)
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
		err := s.pool.QueryRow(ctx, readSQL, hashes[0]).Scan(&out[0].row)
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
	// first is where each hash is first asked for; a hash asked for twice
	// gets the row of its first.
	first := make(map[string]int, len(hashes))
	for i, h := range hashes {
		if _, dup := first[h]; !dup {
			first[h] = i
		}
	}
	var row hashedRow
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return nil, err
		}
		if i, ok := first[string(row.hash)]; ok {
			out[i] = readResult{row: row.row, found: true}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, h := range hashes {
		out[i] = out[first[h]]
	}
	return out, nil
}
