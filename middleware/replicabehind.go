package middleware

import (
	"context"
	"errors"
	"log/slog"

	"github.com/sessionguard/sessionguard"
)

// doneBehind reports whether err says that the store made its change but a
// read replica has not replayed it yet (sessionguard.ErrReplicaBehind). The
// change is done, so the caller carries on as if err were nil: a user whose
// sign-out, sign-in or re-authentication went through is not told it failed
// (a re-authentication's old token is dead by then, and only the new one
// keeps the user signed in). The operator gets a warning: until the replica
// catches up, another instance that reads it may accept the ended token.
func (g *Guard) doneBehind(ctx context.Context, op string, err error, secrets ...string) bool {
	if !errors.Is(err, sessionguard.ErrReplicaBehind) {
		return false
	}
	g.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "sessionguard: "+op+" done, but the read replica has not replayed it yet",
		slog.String("error", redact(err.Error(), secrets...)))
	return true
}
