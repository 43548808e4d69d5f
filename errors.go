package sessionguard

import "errors"

// ErrDuplicateToken is what Store.Create returns (wrapped) when the token
// hash already has a session, or had one until a re-authentication rotated
// it out (Store.Reauthenticate), or when the session id is taken. A token is
// never signed in twice: SignIn mints a fresh one each time, a token
// recorded once (an identity provider's) keeps the session it has, and a
// token rotated out stays out. It is the caller's mistake, not an outage.
var ErrDuplicateToken = errors.New("sessionguard: token already has a session")

// ErrReplicaBehind is what a Store returns (wrapped) together with its
// result when a change that ends a token (a revoke, a re-authentication's
// rotation, the sessions a session limit ended) is committed but a read
// replica the store reads has not replayed it in time. The change IS done:
// the result stands, and callers treat it as done, not as an outage. The
// store that made the change refuses the ended token meanwhile; another
// instance that reads a lagging replica may still accept it until the
// replica catches up.
var ErrReplicaBehind = errors.New("sessionguard: read replica has not replayed the change")
