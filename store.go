package sessionguard

import "context"

// Store is what the HTTP side needs from the sessions table, in this
// package's plain types, so that a store (package pgstore, a test fake, a
// store of your own) depends on this package and not the other way round.
//
// Not-found is a result, not an error: Validate and Peek report
// Status{State: StateUnknown}, Revoke reports false. A non-nil error is a
// system error, which callers treat as "not signed in" (fail closed),
// except ErrReplicaBehind: Create, Reauthenticate and Revoke may return it
// with their result, the change made.
// Implementations never see a token, only its hex SHA-256, and never put the
// hash in an error.
type Store interface {
	// Create inserts a session for a freshly issued token hash, applying
	// n.Limit (ErrSessionLimit when it refuses).
	Create(ctx context.Context, n NewSession) (SessionInfo, error)
	// Validate reports the status of tokenHash within scope and, when valid,
	// records the activity (touch).
	Validate(ctx context.Context, tokenHash string, scope Scope) (Status, error)
	// Peek reports the status of tokenHash within scope and never touches:
	// a "how long is left?" request must not extend the session.
	Peek(ctx context.Context, tokenHash string, scope Scope) (Status, error)
	// Reauthenticate gives the live session r.SessionID, still holding
	// r.OldTokenHash, the token hash r.NewTokenHash, and records the
	// authentication (time, ACR, AMR). The session keeps its id, creation
	// time and absolute expiry; the old hash (and r.OldTwinHash) is unknown
	// from then on, and Create refuses it with ErrDuplicateToken. false when
	// no such live session exists (ended, expired, or rotated already).
	Reauthenticate(ctx context.Context, r Reauthentication) (SessionInfo, bool, error)
	// Revoke ends the active session of tokenHash with reason; false when
	// there was none.
	Revoke(ctx context.Context, tokenHash, reason string) (bool, error)
}
