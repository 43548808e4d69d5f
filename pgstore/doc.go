// Package pgstore is sessionguard's PostgreSQL side: every query against the
// sessions table of migration 022 (and the migrations after it in package
// schema) lives here, and nothing about HTTP does.
//
// A Store works over a *pgxpool.Pool that the caller owns and closes. Every
// method takes a context first. The store only ever sees the hex SHA-256 of a
// token, never the token, and none of its errors contains a hash.
//
// Store implements sessionguard.Store, whose types (Status, NewSession,
// SessionInfo, Event …) are the package's vocabulary. Not-found is a result,
// not an error: Validate and Peek report a Status whose State is
// StateUnknown, the revoke methods report false or 0. A non-nil error is
// always a database or system error, which callers must treat as "not
// signed in" (fail closed).
//
// The database's clock decides expiry: absolute expiry is set from
// CURRENT_TIMESTAMP when a session is created, and every check compares
// against it. Each session row carries its own idle timeout, so the SQL
// functions and the application can never disagree about it.
//
// Under concurrency a Store batches by itself (Config.MaxBatch): lookups
// and touches that arrive while two are in flight go together in the next
// statement, so a busy server pays one round trip per batch and an idle one
// none extra. A lookup never joins a statement sent before it began, so
// one that starts after a revoke returned sees the revoke; a database error
// fails every lookup of its batch.
//
// Each session also records when and how its user last authenticated
// (auth_time, acr, amr; migration 027). Reauthenticate records a new
// authentication and rotates the session's token hash on the same row, and
// Create applies a per-user session limit (sessionguard.SessionLimit)
// atomically with the insert, under a transaction-scoped advisory lock per
// user and app type.
//
// Cache is an opt-in, in-process cache in front of a Store for the
// middleware's hot path. Migration 024 makes PostgreSQL announce every
// session that ends (NOTIFY sessionguard_ended, whoever ended it; past 1,000
// in one transaction, one "forget everything" instead: migration 030);
// Cache.Run listens and evicts, and while it is not connected the cache is
// empty and bypassed, so correctness never depends on it.
//
// Config.ReadPool, a pool on a streaming hot standby, takes the read path
// (Peek, and Validate when no touch is due) without ever letting a revoked
// session through: the standby's "valid" counts only once it has replayed
// every revocation this instance knows of, and revokes through the Store
// return only once it has, or with sessionguard.ErrReplicaBehind after Config.ReplayWait
// (replica.go, docs/SCALING.md).
//
// Metrics and spans (OpenTelemetry API) are off until Config.MeterProvider or
// Config.TracerProvider (and CleanerConfig's) are set: store
// call latency by operation (the SCSStore's calls included), touches
// written, revocations by reason, the Cache's hits, misses, evictions and
// listener, cleanup runs; a span per call, never with a token or hash in it.
// Off, they cost a nil check.
package pgstore
