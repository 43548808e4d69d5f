package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
		s.reads = newBatcher(maxBatch, failTogether(s.readBatch))
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
		err := s.readOne(ctx, tokenHash, &row)
		return row, err
	}
	r, err := s.reads.do(ctx, tokenHash)
	if err == nil && !r.found {
		err = pgx.ErrNoRows
	}
	return r.row, err
}

// lookup is the scratch space of one readSQL. pgx takes the argument and
// the destination as interfaces, which would move the row and both slices
// to the heap on every lookup; pooled, they are allocated once.
type lookup struct {
	row  sessionRow
	args [1]any
	dest [1]any // &row
}

var lookups = sync.Pool{New: func() any {
	l := new(lookup)
	l.dest[0] = &l.row
	return l
}}

// readOne runs readSQL for tokenHash into row. A hash without a row is
// pgx.ErrNoRows.
func (s *Store) readOne(ctx context.Context, tokenHash string, row *sessionRow) error {
	l := lookups.Get().(*lookup)
	l.args[0] = tokenHash
	err := s.pool.QueryRow(ctx, readSQL, l.args[:]...).Scan(l.dest[:]...)
	*row = l.row
	l.args[0] = nil
	lookups.Put(l)
	return err
}

// readResult is one hash's answer in a batch.
type readResult struct {
	row   sessionRow
	found bool
}

// readBatch runs readBatchSQL for hashes and answers each in out, in
// order. A batch of one runs readSQL, the statement of an idle store.
func (s *Store) readBatch(ctx context.Context, hashes []string, out []readResult) error {
	clear(out)
	if len(hashes) == 1 {
		err := s.readOne(ctx, hashes[0], &out[0].row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		out[0].found = err == nil
		return err
	}
	rows, err := s.pool.Query(ctx, readBatchSQL, hashes)
	if err != nil {
		return err
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
	dest := []any{&row} // one slice for every row's Scan
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if i, ok := first[string(row.hash)]; ok {
			out[i] = readResult{row: row.row, found: true}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, h := range hashes {
		out[i] = out[first[h]]
	}
	return nil
}
