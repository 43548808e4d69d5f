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

// liveFirstBatchSQL is liveFirstSQL for the token hashes in the array $1: the
// live rows first, then, only when fewer rows were found than distinct
// hashes asked for (a one-time filter), the ended rows of the hashes. Each
// row starts with its hash.
func liveFirstBatchSQL(columns string) string {
	return `WITH live AS (SELECT session_token_hash, ` + columns + ` FROM sessions
		WHERE session_token_hash = ANY($1::text[]) AND is_active)
	SELECT * FROM live
	UNION ALL SELECT session_token_hash, ` + columns + ` FROM sessions
		WHERE session_token_hash = ANY($1::text[]) AND NOT is_active
		AND (SELECT count(*) FROM live) < (SELECT count(DISTINCT h) FROM unnest($1::text[]) h)`
}
