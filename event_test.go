package sessionguard_test

import (
	"context"
	"slices"
	"testing"

	"github.com/sessionguard/sessionguard"
)

func TestEventAttrsLeaveOutZeroFields(t *testing.T) {
	tests := []struct {
		name string
		e    sessionguard.Event
		want []string
	}{
		{"kind only", sessionguard.Event{Kind: sessionguard.EventRefused}, []string{"event=refused"}},
		{"one session", sessionguard.Event{
			Kind: sessionguard.EventRevoked, Reason: sessionguard.ReasonAdminRevoke, Count: 1, SessionID: "s1",
			UserID: 7, TenantID: 3, AppType: sessionguard.TenantApp, ActorID: 9, IP: "192.0.2.1",
		}, []string{"event=revoked", "reason=admin_revoke", "count=1", "session_id=s1", "user_id=7",
			"tenant_id=3", "app_type=tenant_app", "actor_id=9", "client_ip=192.0.2.1"}},
		{"refusal of an ended session", sessionguard.Event{Kind: sessionguard.EventRefused, Reason: "revoked", EndReason: "logout"},
			[]string{"event=refused", "reason=revoked", "end_reason=logout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range tt.e.Attrs() {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Attrs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEventMessageNamesTheKind(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range []sessionguard.EventKind{sessionguard.EventCreated, sessionguard.EventRevoked,
		sessionguard.EventExpired, sessionguard.EventRefused, sessionguard.EventPurged, "other"} {
		m := sessionguard.Event{Kind: k}.Message()
		if seen[m] {
			t.Errorf("kind %q shares the message %q with another kind", k, m)
		}
		seen[m] = true
	}
}

// A refused re-authentication or refresh is a refused event, but its log
// line says what was refused: not a request, the token presented for a
// step-up.
func TestEventMessageOfARefusedStepUp(t *testing.T) {
	for reason, want := range map[string]string{
		sessionguard.ReasonReauthenticationRefused: "sessionguard: reauthentication refused",
		sessionguard.ReasonRefreshRefused:          "sessionguard: refresh refused",
		"invalid":                                  "sessionguard: request refused",
	} {
		if got := (sessionguard.Event{Kind: sessionguard.EventRefused, Reason: reason}).Message(); got != want {
			t.Errorf("Message of a refusal of reason %q = %q, want %q", reason, got, want)
		}
	}
}

func TestActor(t *testing.T) {
	ctx := context.Background()
	if got := sessionguard.ActorFrom(ctx); got != 0 {
		t.Fatalf("ActorFrom(no actor) = %d, want 0", got)
	}
	if got := sessionguard.ActorFrom(sessionguard.WithActor(ctx, 42)); got != 42 {
		t.Fatalf("ActorFrom(WithActor(42)) = %d, want 42", got)
	}
	// A value of another type under a look-alike key is not an actor.
	type actorKey struct{}
	if got := sessionguard.ActorFrom(context.WithValue(ctx, actorKey{}, int64(5))); got != 0 {
		t.Fatalf("ActorFrom(foreign key) = %d, want 0", got)
	}
}
