package middleware

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sessionguard/sessionguard"
)

// maxSessionLimit is the largest Config.SessionLimit.Max: beyond it, a
// limit protects nothing and costs a long list under the user's lock.
const maxSessionLimit = 10000

// checkSessionLimit validates Config.SessionLimit when the Guard is built.
func checkSessionLimit(l sessionguard.SessionLimit) error {
	if l.Max < 0 || l.Max > maxSessionLimit {
		return errConfig("SessionLimit.Max %d is not between 0 (no limit) and %d", l.Max, maxSessionLimit)
	}
	if !l.AtLimit.Valid() {
		return errConfig("SessionLimit.AtLimit %d is not a sessionguard.LimitAction", l.AtLimit)
	}
	return nil
}

// sessionLimitRefused records a sign-in the session limit refused (an audit
// event naming the user, never a token) and returns the error SignIn gives
// the application, which matches sessionguard.ErrSessionLimit: not a store
// failure, so no 503; the page can say "sign out on another device first".
func (g *Guard) sessionLimitRefused(ctx context.Context, n sessionguard.NewSession) error {
	g.emit(ctx, slog.LevelInfo, sessionguard.Event{Kind: sessionguard.EventRefused, Reason: sessionguard.ReasonSessionLimit,
		UserID: n.UserID, TenantID: n.TenantID, AppType: n.AppType, IP: n.IP})
	return fmt.Errorf("middleware: sign in: %w (%d live sessions)", sessionguard.ErrSessionLimit, g.cfg.SessionLimit.Max)
}
