package pgstore_test

import (
	"context"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// A disabled account's sessions end in one call, whatever their app or
// tenant; another user's are untouched. A deleted user's rows go with it
// (the seed's ON DELETE CASCADE), so no session outlives its user.
func TestDisabledAndDeletedUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	bob := pgtest.CreateUser(t, f.pool, "bob@acme.example", f.tenant)
	var mine []string
	for _, app := range []sessionguard.AppType{sessionguard.ControlPanel, sessionguard.TenantApp, sessionguard.TenantApp} {
		h, _ := f.create(t, func(n *sessionguard.NewSession) { n.AppType = app; n.TenantID = f.tenant })
		mine = append(mine, h)
	}
	bobs, _ := f.create(t, func(n *sessionguard.NewSession) { n.UserID = bob })

	n, err := f.store.RevokeAll(ctx, f.user, "account_disabled")
	if err != nil || n != len(mine) {
		t.Fatalf("RevokeAll = %d, %v; want %d", n, err, len(mine))
	}
	for _, h := range mine {
		if r := f.row(t, h); r.Active || r.reason() != "account_disabled" {
			t.Fatalf("row after disabling: %+v %q", r, r.reason())
		}
		if st, err := f.store.Validate(ctx, h, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateRevoked || st.EndReason != "account_disabled" {
			t.Fatalf("Validate after disabling = %+v, %v", st, err)
		}
	}
	if !f.row(t, bobs).Active {
		t.Fatal("disabling one account ended another's session")
	}

	if _, err := f.pool.Exec(ctx, "DELETE FROM users WHERE id = $1", bob); err != nil {
		t.Fatal(err)
	}
	if f.exists(t, bobs) {
		t.Fatal("a deleted user's session row survived")
	}
	if st, err := f.store.Validate(ctx, bobs, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateUnknown {
		t.Fatalf("Validate of a deleted user's session = %+v, %v", st, err)
	}
}
