package sessionguard

import (
	"errors"
	"fmt"
)

// MaxSessionLimit is the largest SessionLimit.Max: beyond it a limit
// protects nothing, and a sign-in would read that many rows under the
// user's lock.
const MaxSessionLimit = 10000

// SessionLimit caps how many live sessions one user may hold in one app type
// at once (ASVS 7.1.2), and says what a sign-in at the limit does. The zero
// value sets no limit.
type SessionLimit struct {
	// Max is the most live sessions a user may hold in the app type; 0
	// means no limit.
	Max int
	// AtLimit is what a sign-in does when the user already holds Max live
	// sessions. Default EndLeastRecentlyActive.
	AtLimit LimitAction
}

// LimitAction is what a sign-in at the session limit does.
type LimitAction int

const (
	// EndLeastRecentlyActive lets the sign-in in and ends the user's least
	// recently active sessions with ReasonSessionLimit to make room. The
	// default: a user who lost a device is never locked out by it, and the
	// evicted session's next request says why it ended.
	EndLeastRecentlyActive LimitAction = iota
	// RefuseNewSession refuses the sign-in with ErrSessionLimit and leaves
	// the existing sessions alone. A user at the limit must sign out
	// elsewhere (or wait for a timeout) first.
	RefuseNewSession
)

// Check returns an error unless Max is between 0 and MaxSessionLimit and
// AtLimit is one of the actions below.
func (l SessionLimit) Check() error {
	if l.Max < 0 || l.Max > MaxSessionLimit {
		return fmt.Errorf("sessionguard: session limit %d is not between 0 (no limit) and %d", l.Max, MaxSessionLimit)
	}
	if !l.AtLimit.Valid() {
		return fmt.Errorf("sessionguard: unknown session limit action %d", l.AtLimit)
	}
	return nil
}

// Valid reports whether a is one of the actions above.
func (a LimitAction) Valid() bool { return a == EndLeastRecentlyActive || a == RefuseNewSession }

// ErrSessionLimit is returned (wrapped) by Store.Create when the user already
// holds the most live sessions its SessionLimit allows and the limit's
// AtLimit is RefuseNewSession.
var ErrSessionLimit = errors.New("sessionguard: session limit reached")
