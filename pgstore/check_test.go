package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestValidateStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})

	tests := []struct {
		name       string
		prepare    func(t *testing.T, hash string)
		wantState  sessionguard.State
		wantReason string // stored revoke_reason afterwards, "" = still active
	}{
		{"valid", func(*testing.T, string) {}, sessionguard.StateValid, ""},
		{"idle expired", func(t *testing.T, h string) { f.age(t, h, 4*time.Hour+time.Second, 0) }, sessionguard.StateIdle, "idle_timeout"},
		{"absolute expired", func(t *testing.T, h string) { f.age(t, h, 0, 8*time.Hour+time.Second) }, sessionguard.StateAbsolute, "absolute_timeout"},
		{"both expired: absolute first", func(t *testing.T, h string) { f.age(t, h, 5*time.Hour, 9*time.Hour) }, sessionguard.StateAbsolute, "absolute_timeout"},
		{"idle exactly at the limit", func(t *testing.T, h string) { f.age(t, h, 4*time.Hour, 0) }, sessionguard.StateIdle, "idle_timeout"},
		{"logged out", func(t *testing.T, h string) { mustRevoke(t, f, h, sessionguard.ReasonLogout) }, sessionguard.StateRevoked, "logout"},
		{"admin revoked", func(t *testing.T, h string) { mustRevoke(t, f, h, sessionguard.ReasonAdminRevoke) }, sessionguard.StateRevoked, "admin_revoke"},
		{"ended by cleanup as idle", func(t *testing.T, h string) {
			f.age(t, h, 5*time.Hour, 0)
			if _, err := f.store.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
		}, sessionguard.StateIdle, "idle_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, info := f.create(t, nil)
			tt.prepare(t, hash)

			st, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.wantState {
				t.Fatalf("state = %q, want %q", st.State, tt.wantState)
			}
			if st.Valid() != (tt.wantState == sessionguard.StateValid) {
				t.Fatalf("Valid() = %v for state %q", st.Valid(), st.State)
			}
			if st.SessionID != info.ID || st.UserID != f.user || st.AppType != sessionguard.ControlPanel {
				t.Fatalf("status identifies %q/%d/%q, want %q/%d/control_panel", st.SessionID, st.UserID, st.AppType, info.ID, f.user)
			}
			r := f.row(t, hash)
			if got := r.reason(); got != tt.wantReason {
				t.Fatalf("stored revoke_reason = %q, want %q", got, tt.wantReason)
			}
			if r.Active != (tt.wantReason == "") || r.Ended == r.Active {
				t.Fatalf("row active=%v ended=%v, want active=%v with ended_at/revoked_at set when ended", r.Active, r.Ended, tt.wantReason == "")
			}
			if !st.Valid() && st.EndReason != tt.wantReason {
				t.Fatalf("EndReason = %q, want %q", st.EndReason, tt.wantReason)
			}
		})
	}

	t.Run("unknown", func(t *testing.T) {
		st, err := f.store.Validate(ctx, newHash(t), sessionguard.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if st.State != sessionguard.StateUnknown || st.SessionID != "" || st.UserID != 0 {
			t.Fatalf("unknown hash: %+v", st)
		}
	})
}

func mustRevoke(t *testing.T, f fixture, hash, reason string) {
	t.Helper()
	ok, err := f.store.Revoke(context.Background(), hash, reason)
	if err != nil || !ok {
		t.Fatalf("Revoke = %v, %v", ok, err)
	}
}

// The trap: after a touch, the idle time left is the whole idle timeout, not
// what was left before the request.
func TestValidateReportsIdleTimeAfterItsTouch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: -1})
	hash, _ := f.create(t, func(n *sessionguard.NewSession) { n.IdleTimeout = 20 * time.Minute })
	f.age(t, hash, 15*time.Minute, 15*time.Minute)

	st, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.IdleRemaining(); got != 20*time.Minute {
		t.Fatalf("IdleRemaining after touch = %v, want the full 20m", got)
	}
	if got := st.AbsoluteRemaining(); got < 8*time.Hour-15*time.Minute-2*time.Second || got > 8*time.Hour-15*time.Minute {
		t.Fatalf("AbsoluteRemaining = %v, want ~7h45m", got)
	}
	if !f.row(t, hash).LastActivity.Equal(st.LastActivityAt) {
		t.Fatal("reported LastActivityAt is not the stored one")
	}
}

func TestPeekNeverMovesLastActivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: -1})
	hash, _ := f.create(t, nil)
	f.age(t, hash, 10*time.Minute, 10*time.Minute)
	before := f.row(t, hash).LastActivity

	for range 3 {
		st, err := f.store.Peek(ctx, hash, sessionguard.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if !st.Valid() {
			t.Fatalf("Peek state = %q", st.State)
		}
		if got := st.IdleRemaining(); got > 4*time.Hour-10*time.Minute {
			t.Fatalf("Peek IdleRemaining = %v, want at most 3h50m (no touch)", got)
		}
	}
	if after := f.row(t, hash).LastActivity; !after.Equal(before) {
		t.Fatalf("Peek moved last_activity_at from %v to %v", before, after)
	}

	// An expired session peeks as expired but is not written: the next
	// Validate (or the cleanup) records it.
	f.age(t, hash, 4*time.Hour, 0)
	st, err := f.store.Peek(ctx, hash, sessionguard.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if st.State != sessionguard.StateIdle {
		t.Fatalf("Peek of an idle session = %q", st.State)
	}
	if r := f.row(t, hash); !r.Active {
		t.Fatal("Peek wrote the expiry")
	}
}

func TestValidateTouchesAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: time.Minute})
	hash, _ := f.create(t, nil)

	f.age(t, hash, 30*time.Second, 30*time.Second)
	before := f.row(t, hash).LastActivity
	st, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
	if err != nil || !st.Valid() {
		t.Fatalf("Validate = %+v, %v", st, err)
	}
	if after := f.row(t, hash).LastActivity; !after.Equal(before) {
		t.Fatal("a touch 30 s after the last one was written despite the 60 s interval")
	}
	// The idle clock reported is the stored one: up to the interval early, never late.
	if got := st.IdleRemaining(); got > 4*time.Hour-30*time.Second || got < 4*time.Hour-32*time.Second {
		t.Fatalf("IdleRemaining = %v, want ~3h59m30s", got)
	}

	f.age(t, hash, 31*time.Second, 0)
	st, err = f.store.Validate(ctx, hash, sessionguard.Scope{})
	if err != nil || !st.Valid() {
		t.Fatalf("Validate = %+v, %v", st, err)
	}
	if after := f.row(t, hash).LastActivity; after.Equal(before.Add(-31 * time.Second)) {
		t.Fatal("a touch 61 s after the last one was not written")
	}
	if got := st.IdleRemaining(); got != 4*time.Hour {
		t.Fatalf("IdleRemaining after a written touch = %v, want 4h", got)
	}
}

func TestScopeRefusesOtherAppsAndTenantsWithoutTouching(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: -1})
	panel, _ := f.create(t, nil)
	tenant, _ := f.create(t, func(n *sessionguard.NewSession) { n.AppType = sessionguard.TenantApp; n.TenantID = f.tenant })
	f.age(t, panel, time.Minute, time.Minute)
	f.age(t, tenant, time.Minute, time.Minute)

	tests := []struct {
		name  string
		hash  string
		scope sessionguard.Scope
		want  sessionguard.State
	}{
		{"control panel on tenant app", panel, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant}, sessionguard.StateWrongApp},
		{"tenant app on control panel", tenant, sessionguard.Scope{AppType: sessionguard.ControlPanel}, sessionguard.StateWrongApp},
		{"tenant A on tenant B", tenant, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant + 1}, sessionguard.StateWrongTenant},
		{"tenant A on tenant A", tenant, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant}, sessionguard.StateValid},
		{"control panel on control panel", panel, sessionguard.Scope{AppType: sessionguard.ControlPanel}, sessionguard.StateValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.row(t, tt.hash).LastActivity
			st, err := f.store.Validate(ctx, tt.hash, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.want {
				t.Fatalf("state = %q, want %q", st.State, tt.want)
			}
			moved := !f.row(t, tt.hash).LastActivity.Equal(before)
			if moved != (tt.want == sessionguard.StateValid) {
				t.Fatalf("last_activity_at moved = %v for state %q", moved, st.State)
			}
			f.age(t, tt.hash, time.Minute, 0)
		})
	}
}

func TestInvalidArgumentsCostNoQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	f.pool.Close() // any query now fails with a pool error, not ErrInvalidArgument

	for _, hash := range []string{"", "abc", "ZZ" + newHash(t)[2:], newHash(t) + "0", "'; DROP TABLE sessions; --"} {
		if _, err := f.store.Validate(ctx, hash, sessionguard.Scope{}); !isInvalid(err) {
			t.Errorf("Validate(%q) = %v, want ErrInvalidArgument", hash, err)
		}
		if _, err := f.store.Peek(ctx, hash, sessionguard.Scope{}); !isInvalid(err) {
			t.Errorf("Peek(%q) = %v, want ErrInvalidArgument", hash, err)
		}
	}
	if _, err := f.store.Validate(ctx, newHash(t), sessionguard.Scope{AppType: "other"}); !isInvalid(err) {
		t.Errorf("unknown scope app type = %v, want ErrInvalidArgument", err)
	}
}

// The Validate that finds a session past its timeout records the end and says
// so, once: the audit trail's "expired" event hangs on it.
func TestValidateSaysOnceThatItEndedTheSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	hash, _ := f.create(t, nil)
	f.age(t, hash, 4*time.Hour+time.Second, 0)

	if st, err := f.store.Peek(ctx, hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateIdle || st.EndedNow {
		t.Fatalf("Peek = %+v, %v; want idle, not ended now (a peek writes nothing)", st, err)
	}
	first, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
	if err != nil || first.State != sessionguard.StateIdle || !first.EndedNow {
		t.Fatalf("first Validate = %+v, %v; want idle, ended now", first, err)
	}
	second, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
	if err != nil || second.State != sessionguard.StateIdle || second.EndedNow {
		t.Fatalf("second Validate = %+v, %v; want idle, not ended now", second, err)
	}
}
