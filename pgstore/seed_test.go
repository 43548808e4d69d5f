package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// For the same rows, Validate gives the answers of the seed's two calls
// (get_session_status, then update_session_activity) and leaves the rows as
// they leave them. Two sessions are made identical; the seed path checks one
// and Validate the other.
func TestValidateMatchesTheSeedsTwoCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: -1}) // the seed touches on every request

	cases := []struct {
		name    string
		prepare func(t *testing.T, hash string)
	}{
		{"valid", func(t *testing.T, h string) { f.age(t, h, 10*time.Minute, time.Hour) }},
		{"idle expired", func(t *testing.T, h string) { f.age(t, h, 4*time.Hour+time.Minute, 5*time.Hour) }},
		{"absolute expired", func(t *testing.T, h string) { f.age(t, h, time.Minute, 8*time.Hour+time.Minute) }},
		{"idle and absolute expired", func(t *testing.T, h string) { f.age(t, h, 5*time.Hour, 9*time.Hour) }},
		{"revoked", func(t *testing.T, h string) { mustRevoke(t, f, h, sessionguard.ReasonAdminRevoke) }},
		{"unknown", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seedHash, libHash := newHash(t), newHash(t)
			if tc.prepare != nil {
				for _, h := range []string{seedHash, libHash} {
					f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = h; n.TenantID = f.tenant })
					tc.prepare(t, h)
				}
			}

			seed, err := seedValidate(ctx, f.pool, seedHash)
			if err != nil {
				t.Fatal(err)
			}
			lib, err := f.store.Validate(ctx, libHash, sessionguard.Scope{})
			if err != nil {
				t.Fatal(err)
			}

			if seed.IsValid != lib.Valid() {
				t.Fatalf("valid: seed %v, library %v (%s)", seed.IsValid, lib.Valid(), lib.State)
			}
			wantState := map[string]sessionguard.State{"idle": sessionguard.StateIdle, "absolute": sessionguard.StateAbsolute}[seed.ExpiryReason]
			if seed.ExpiryReason != "" && lib.State != wantState {
				t.Fatalf("seed expiry %q, library state %q", seed.ExpiryReason, lib.State)
			}
			if seed.UserID != 0 && (seed.UserID != lib.UserID || seed.TenantID != lib.TenantID) {
				t.Fatalf("seed user/tenant %d/%d, library %d/%d", seed.UserID, seed.TenantID, lib.UserID, lib.TenantID)
			}
			if seed.IsValid {
				if d := seed.SecondsUntilAbsoluteTimeout - int(lib.AbsoluteRemaining().Seconds()); d < 0 || d > 1 {
					t.Fatalf("absolute seconds: seed %d, library %v", seed.SecondsUntilAbsoluteTimeout, lib.AbsoluteRemaining())
				}
				if !seed.Touched {
					t.Fatal("seed path did not touch a valid session")
				}
				// The seed reports idle time before its touch; the library after it.
				if lib.IdleRemaining() != 4*time.Hour {
					t.Fatalf("library idle remaining %v, want the full 4h after its touch", lib.IdleRemaining())
				}
			}
			if tc.prepare == nil {
				if lib.State != sessionguard.StateUnknown {
					t.Fatalf("unknown: library state %q", lib.State)
				}
				return
			}
			s, l := f.row(t, seedHash), f.row(t, libHash)
			if s.Active != l.Active || s.reason() != l.reason() || s.Ended != l.Ended {
				t.Fatalf("rows differ: seed %+v/%q, library %+v/%q", s, s.reason(), l, l.reason())
			}
			if d := s.LastActivity.Sub(l.LastActivity).Abs(); d > time.Second {
				t.Fatalf("last_activity_at differs by %v", d)
			}
		})
	}
}

// seedStatus is what migration 022's get_session_status returns, plus whether
// the follow-up update_session_activity touched the row.
type seedStatus struct {
	IsValid                     bool
	ExpiryReason                string // "idle" or "absolute" when this call found it expired
	SecondsUntilIdleTimeout     int    // before the touch, as the seed computes it
	SecondsUntilAbsoluteTimeout int
	UserID                      int64
	TenantID                    int64
	Touched                     bool
}

// seedValidate runs the seed's own contract: get_session_status, then, for a
// valid session, update_session_activity. It is the reference Validate is
// held to; the library itself never calls these two functions.
func seedValidate(ctx context.Context, pool *pgxpool.Pool, tokenHash string) (seedStatus, error) {
	var st seedStatus
	// The seed answers NULL for what it does not know; coalesce reads that
	// as the zero value.
	err := pool.QueryRow(ctx,
		`SELECT is_valid, coalesce(expiry_reason, ''), coalesce(seconds_until_idle_timeout, 0),
		        coalesce(seconds_until_absolute_timeout, 0), coalesce(user_id, 0), coalesce(tenant_id, 0)
		 FROM get_session_status($1)`, tokenHash).
		Scan(&st.IsValid, &st.ExpiryReason, &st.SecondsUntilIdleTimeout, &st.SecondsUntilAbsoluteTimeout, &st.UserID, &st.TenantID)
	if err != nil || !st.IsValid {
		return st, err
	}
	err = pool.QueryRow(ctx, "SELECT update_session_activity($1)", tokenHash).Scan(&st.Touched)
	return st, err
}
