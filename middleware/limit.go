package middleware

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sessionguard/sessionguard"
)

// sessionLimitRefused records a sign-in the session limit refused (an audit
// event naming the user, never a token) and returns the error SignIn gives
// the application, which matches sessionguard.ErrSessionLimit: not a store
// failure, so no 503; the page can say "sign out on another device first".
func (g *Guard) sessionLimitRefused(ctx context.Context, n sessionguard.NewSession) error {
	g.emit(ctx, slog.LevelInfo, sessionguard.Event{Kind: sessionguard.EventRefused, Reason: sessionguard.ReasonSessionLimit,
		UserID: n.UserID, TenantID: n.TenantID, AppType: n.AppType, IP: n.IP})
	return fmt.Errorf("middleware: sign in: %w (%d live sessions)", sessionguard.ErrSessionLimit, g.cfg.SessionLimit.Max)
}
