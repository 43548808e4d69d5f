package pgstore

// withinTimeoutsSQL is the timing half of the liveness rule for the
// sessions row s: by the database's clock, before both its absolute and its
// idle expiry. liveSQL adds "active"; the Cleaner, which must stay on the
// partial index of migration 025, puts it under "is_active = true" instead.
// decide (read.go) is the same rule in Go and sessionguard_check
// (migrations 023, 024) in PL/pgSQL; TestReadPathMatchesTheFunction holds
// the three to the same answers.
const withinTimeoutsSQL = `CURRENT_TIMESTAMP < s.absolute_expires_at
	AND CURRENT_TIMESTAMP < s.last_activity_at + make_interval(secs => s.idle_timeout_seconds)`

// liveSQL is the liveness rule, "active and within both timeouts", as a SQL
// condition on the sessions row s: the one way every statement here asks
// whether a session is live.
const liveSQL = `(s.is_active AND ` + withinTimeoutsSQL + `)`
