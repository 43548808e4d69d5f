package pgstore

// ExpireNextPageSQL exposes the expiry's statement to the external tests,
// which check its plan on a large table.
const ExpireNextPageSQL = expireNextPageSQL

// SetInTurn makes c call f in each batch's transaction, right after taking
// the cleanup lock, so tests can see whether two batches hold it at once.
func SetInTurn(c *Cleaner, f func()) { c.inTurn = f }

// LiveSQL exposes the liveness rule to the test that holds it to decide and
// sessionguard_check.
const LiveSQL = liveSQL
