package sessionguard_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sessionguard/sessionguard"
)

// A Status tells how long a session has left, in whole seconds, as of the
// database's clock when it was checked: what the timing headers report.
func ExampleStatus() {
	checked := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	st := sessionguard.Status{
		State:             sessionguard.StateValid,
		UserID:            42,
		AppType:           sessionguard.ControlPanel,
		IdleExpiresAt:     checked.Add(4 * time.Hour),
		AbsoluteExpiresAt: checked.Add(90*time.Minute + 500*time.Millisecond),
		CheckedAt:         checked,
	}
	fmt.Println(st.Valid(), st.IdleRemaining(), st.AbsoluteRemaining())
	// Output: true 4h0m0s 1h30m0s
}

// Events are logged with their own message and attributes; an OnEvent hook
// receives the same value. None carries a token or a hash.
func ExampleEvent() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output for the example
			}
			return a
		},
	}))
	e := sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: sessionguard.ReasonAdminRevoke, Count: 1, UserID: 7, ActorID: 1}
	logger.LogAttrs(context.Background(), slog.LevelInfo, e.Message(), e.Attrs()...)
	// Output: level=INFO msg="sessionguard: session revoked" event=revoked reason=admin_revoke count=1 user_id=7 actor_id=1
}
