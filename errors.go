package sessionguard

import "errors"

// ErrDuplicateToken is what Store.Create returns (wrapped) when the token
// hash already has a session. A token is never signed in twice: SignIn mints
// a fresh one each time, and a token recorded once (an identity provider's)
// keeps the session it has. It is the caller's mistake, not an outage.
var ErrDuplicateToken = errors.New("sessionguard: token already has a session")
