package pgstore

// ExpireNextPageSQL exposes the expiry's statement to the external tests,
// which check its plan on a large table.
const ExpireNextPageSQL = expireNextPageSQL

// LiveSQL exposes the liveness rule to the test that holds it to decide and
// sessionguard_check.
const LiveSQL = liveSQL
