package sessionguard

import "context"

// Store is what the HTTP side needs from the sessions table, in this
// package's plain types, so that a store (package pgstore, a test fake, a
// store of your own) depends on this package and not the other way round.
//
// Not-found is a result, not an error: Validate and Peek report
// Status{State: StateUnknown}, Revoke and SignOut report false. A non-nil
// error is a system error, which callers treat as "not signed in" (fail
// closed), except ErrReplicaBehind: Create, Reauthenticate, Revoke and
// SignOut may return it with their result, the change made.
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
	// there was none. A hash a re-authentication rotated out names no
	// session here: scs's RenewToken and Destroy, which end a session by
	// the token they let go of, must not end one that lives on under its
	// new token.
	Revoke(ctx context.Context, tokenHash, reason string) (bool, error)
	// SignOut is the user's own sign-out: it ends, with reason "logout",
	// the active session of tokenHash or, when a re-authentication rotated
	// tokenHash out, the session it was rotated out of; false when there was
	// none. A tab still holding the old token (its request raced the
	// rotation) must end the session, not leave it alive under the new token
	// behind a cleared cookie. Whoever holds a retired token held the
	// session before the rotation and could have ended it then; ending it,
	// for as long as that session lives, is all a retired token can do:
	// Validate, Peek and Reauthenticate know it not, Create refuses it
	// (ErrDuplicateToken) and Revoke ends nothing by it.
	SignOut(ctx context.Context, tokenHash string) (bool, error)
}
