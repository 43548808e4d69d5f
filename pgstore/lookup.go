package pgstore

// The token lookup reads live sessions through migration 029's hash index
// (idx_sessions_live_token: metapage, one bucket page, then the row), and
// falls back to the UNIQUE constraint's B-tree only for a hash that index does
// not have: an ended session, or none at all. A request's check of a live
// session therefore reads the same few pages whether the table holds ten
// thousand rows or ten million (BENCHMARKS.md, "Ten million sessions").
//
// At most one row has a given token hash (the UNIQUE constraint), and a row
// is either live or not in the statement's one snapshot, so the two branches
// never both answer: what each statement returns is what a plain
// `WHERE session_token_hash = $1` would. The order of the branches is only a
// matter of cost.

// liveFirstSQL is the statement that reads columns of the row whose token
// hash is $1. UNION ALL runs its branches in order and LIMIT 1 stops after the
// first row, so the B-tree branch runs only when the live branch found
// nothing.
func liveFirstSQL(columns string) string {
	return `(SELECT ` + columns + ` FROM sessions WHERE session_token_hash = $1 AND is_active)
	UNION ALL (SELECT ` + columns + ` FROM sessions WHERE session_token_hash = $1 AND NOT is_active) LIMIT 1`
}

// liveFirstBatchSQL is liveFirstSQL for each token hash in the array $1,
// one after the other in one statement (a nested loop over the array): a
// row per hash found, starting with its hash. A hash given twice is
// answered twice. For a batch of two this costs PostgreSQL about what one
// lone lookup does; one `= ANY($1)` per index would need a bitmap scan of
// the hash index (it takes no arrays in a plain index scan) and a second
// pass over the B-tree for the hashes the first did not find, which cost
// more at every batch size measured (BENCHMARKS.md, "Natural batching").
//
// The array goes through a subquery with OFFSET 0, which the planner does not
// flatten: it then estimates the array's length as it does without a value
// (10), in the plans it makes for the statement's values as in its generic
// plan. Given the array itself, it estimated a batch of two as a fifth of the
// generic plan's cost, kept planning the statement anew for every execution
// (about 100 µs each, twice what the whole statement takes on its prepared
// plan) and never used that plan; with the fence it uses it from the sixth
// execution on (TestBatchedStatementsUsePreparedPlans).
func liveFirstBatchSQL(columns string) string {
	return `SELECT u.hash, s.* FROM (SELECT $1::text[] AS hashes OFFSET 0) a
		CROSS JOIN LATERAL unnest(a.hashes) AS u(hash) CROSS JOIN LATERAL (
		(SELECT ` + columns + ` FROM sessions WHERE session_token_hash = u.hash AND is_active)
		UNION ALL (SELECT ` + columns + ` FROM sessions WHERE session_token_hash = u.hash AND NOT is_active) LIMIT 1) s`
}
