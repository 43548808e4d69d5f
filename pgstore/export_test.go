package pgstore

// ExpireNextPageSQL exposes the expiry's statement to the external tests,
// which check its plan on a large table.
const ExpireNextPageSQL = expireNextPageSQL
