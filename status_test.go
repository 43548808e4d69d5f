package sessionguard_test

import (
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
)

func TestStatusRemaining(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name         string
		idle, abs    time.Time
		wantIdle     time.Duration
		wantAbsolute time.Duration
	}{
		{"whole seconds", now.Add(20 * time.Minute), now.Add(time.Hour), 20 * time.Minute, time.Hour},
		{"a fraction is cut, never rounded up", now.Add(1999 * time.Millisecond), now.Add(59*time.Second + 999*time.Millisecond), time.Second, 59 * time.Second},
		{"past is zero", now.Add(-time.Minute), now.Add(-time.Second), 0, 0},
		{"unset times are zero", time.Time{}, time.Time{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := sessionguard.Status{State: sessionguard.StateValid, IdleExpiresAt: tt.idle, AbsoluteExpiresAt: tt.abs, CheckedAt: now}
			if got := st.IdleRemaining(); got != tt.wantIdle {
				t.Errorf("IdleRemaining = %v, want %v", got, tt.wantIdle)
			}
			if got := st.AbsoluteRemaining(); got != tt.wantAbsolute {
				t.Errorf("AbsoluteRemaining = %v, want %v", got, tt.wantAbsolute)
			}
		})
	}
}

func TestStatusValid(t *testing.T) {
	states := []sessionguard.State{
		sessionguard.StateValid, sessionguard.StateUnknown, sessionguard.StateIdle, sessionguard.StateAbsolute,
		sessionguard.StateRevoked, sessionguard.StateWrongApp, sessionguard.StateWrongTenant, "",
	}
	for _, s := range states {
		if got, want := (sessionguard.Status{State: s}).Valid(), s == sessionguard.StateValid; got != want {
			t.Errorf("Status{State: %q}.Valid() = %v, want %v", s, got, want)
		}
	}
}

func TestAppTypeValid(t *testing.T) {
	tests := []struct {
		t    sessionguard.AppType
		want bool
	}{
		{sessionguard.ControlPanel, true},
		{sessionguard.TenantApp, true},
		{"", false},
		{"Control_Panel", false},
		{"tenant_app ", false},
	}
	for _, tt := range tests {
		if got := tt.t.Valid(); got != tt.want {
			t.Errorf("AppType(%q).Valid() = %v, want %v", tt.t, got, tt.want)
		}
	}
}

func TestStatusAuthAge(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := sessionguard.Status{AuthTime: now.Add(-90 * time.Second), CheckedAt: now}
	if got := st.AuthAge(); got != 90*time.Second {
		t.Fatalf("AuthAge = %v, want 90s", got)
	}
}
