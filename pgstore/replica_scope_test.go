package pgstore_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestReplicaOutOfScopeBehindARevocation: a session revoked through this
// Store, checked in another app's or tenant's scope while the replica has
// not replayed the revocation, is "revoked", as the primary answers (ended
// before scope): not "wrong_app" or "wrong_tenant", which say the session
// is alive (a 403 where a Guard owes a 401 with the end reason). The
// replica's row is active there, and an active row is only as current as
// the fence admits; the scope refusals skipped the fence.
func TestReplicaOutOfScopeBehindARevocation(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	ctx := t.Context()
	short, err := pgstore.New(f.pool, pgstore.Config{ReadPool: f.rs.StandbyPool, ReplayWait: 50 * time.Millisecond, ReplicaTimeout: testReplicaTimeout, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	primaryOnly, err := pgstore.New(f.pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	other := pgtest.CreateTenant(t, f.pool, "other")
	panel, _ := f.create(t, nil)
	tenantApp, _ := f.create(t, func(n *sessionguard.NewSession) {
		n.AppType, n.TenantID = sessionguard.TenantApp, f.tenant
	})
	f.waitReplayed(t)
	f.pauseReplay(t)
	for _, hash := range []string{panel, tenantApp} {
		if ended, err := short.Revoke(ctx, hash, sessionguard.ReasonLogout); !ended || !errors.Is(err, sessionguard.ErrReplicaBehind) {
			t.Fatalf("Revoke = %v, %v; want true, ErrReplicaBehind", ended, err)
		}
		if active, found := f.replicaActive(t, hash); !found || !active {
			t.Fatalf("replica: found %v, active %v; want the active row, the revocation not replayed", found, active)
		}
	}
	for _, tt := range []struct {
		name  string
		hash  string
		scope sessionguard.Scope
	}{
		{"another app", panel, sessionguard.Scope{AppType: sessionguard.TenantApp}},
		{"another tenant", tenantApp, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: other}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, check := range []struct {
				name string
				call func() (sessionguard.Status, error)
			}{
				{"peek", func() (sessionguard.Status, error) { return short.Peek(ctx, tt.hash, tt.scope) }},
				{"validate", func() (sessionguard.Status, error) { return short.Validate(ctx, tt.hash, tt.scope) }},
			} {
				st, err := check.call()
				if err != nil {
					t.Fatal(err)
				}
				if st.State != sessionguard.StateRevoked || st.EndReason != sessionguard.ReasonLogout {
					t.Errorf("%s = %q (end reason %q); want %q (%q), the primary's answer", check.name, st.State, st.EndReason, sessionguard.StateRevoked, sessionguard.ReasonLogout)
				}
				want, err := primaryOnly.Peek(ctx, tt.hash, tt.scope)
				if err != nil {
					t.Fatal(err)
				}
				st.CheckedAt, want.CheckedAt = time.Time{}, time.Time{}
				if !reflect.DeepEqual(st, want) {
					t.Errorf("%s: %+v;\nthe primary's %+v", check.name, st, want)
				}
			}
		})
	}
}
