package pgstore_test

import (
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestCountActive counts what each revoke would end: active rows, a row
// past its idle timeout but not cleaned up included, ended rows not.
func TestCountActive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	other := pgtest.CreateUser(t, f.pool, "bob@acme.example", f.tenant)
	_, live := f.create(t, nil)
	idle, _ := f.create(t, nil)
	f.age(t, idle, 5*time.Hour, 5*time.Hour)
	ended, endedInfo := f.create(t, nil)
	mustRevoke(t, f, ended, sessionguard.ReasonLogout)
	_, others := f.create(t, func(n *sessionguard.NewSession) { n.UserID = other })

	tests := []struct {
		name string
		sel  pgstore.Selection
		want int
	}{
		{"everyone", pgstore.Selection{}, 3},
		{"user", pgstore.Selection{UserID: f.user}, 2},
		{"other user", pgstore.Selection{UserID: other}, 1},
		{"user without sessions", pgstore.Selection{UserID: other + 1}, 0},
		{"session", pgstore.Selection{SessionID: live.ID}, 1},
		{"ended session", pgstore.Selection{SessionID: endedInfo.ID}, 0},
		{"session of the user", pgstore.Selection{UserID: f.user, SessionID: live.ID}, 1},
		{"session of another user", pgstore.Selection{UserID: f.user, SessionID: others.ID}, 0},
		{"unknown session", pgstore.Selection{SessionID: "00000000-0000-4000-8000-000000000000"}, 0},
		{"malformed session id", pgstore.Selection{SessionID: "not-a-uuid"}, 0},
		{"negative user id", pgstore.Selection{UserID: -1}, 0},
		{"user id beyond INTEGER", pgstore.Selection{UserID: 1 << 40}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := f.store.CountActive(t.Context(), tt.sel); err != nil || got != tt.want {
				t.Errorf("CountActive(%+v) = %d, %v; want %d", tt.sel, got, err, tt.want)
			}
		})
	}

	// The revokes end what it counted.
	revokes := []struct {
		sel    pgstore.Selection
		revoke func() (int, error)
	}{
		{pgstore.Selection{UserID: f.user}, func() (int, error) { return f.store.RevokeAll(t.Context(), f.user, "account_disabled") }},
		{pgstore.Selection{}, func() (int, error) { return f.store.RevokeEveryone(t.Context(), sessionguard.ReasonAdminRevoke) }},
	}
	for _, r := range revokes {
		counted, err := f.store.CountActive(t.Context(), r.sel)
		if err != nil {
			t.Fatal(err)
		}
		if ended, err := r.revoke(); err != nil || ended != counted {
			t.Errorf("%+v: counted %d, the revoke ended %d (err %v)", r.sel, counted, ended, err)
		}
	}
	if n, err := f.store.CountActive(t.Context(), pgstore.Selection{}); err != nil || n != 0 {
		t.Errorf("after revoking everyone CountActive = %d, %v; want 0", n, err)
	}
}
