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

// TestStats: live sessions and the active ones past a timeout are counted
// per app type and tenant by the store's liveness rule, ended ones by
// reason within the period, and the oldest live session is the oldest that
// is still live, not the oldest active row.
func TestStats(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	other := pgtest.CreateTenant(t, f.pool, "globex")
	open := func(app sessionguard.AppType, tenant int64) string {
		hash, _ := f.create(t, func(n *sessionguard.NewSession) { n.AppType, n.TenantID = app, tenant })
		return hash
	}
	oldest, oldestInfo := f.create(t, nil) // a control-panel session
	f.age(t, oldest, 0, 3*time.Hour)
	open(sessionguard.ControlPanel, 0)
	open(sessionguard.TenantApp, f.tenant)
	open(sessionguard.TenantApp, other)
	f.age(t, open(sessionguard.TenantApp, other), 5*time.Hour, 6*time.Hour)  // idle: older, not live
	f.age(t, open(sessionguard.ControlPanel, 0), 0, 8*time.Hour+time.Second) // past its absolute timeout
	end := func(reason string, ago time.Duration) {
		hash := open(sessionguard.ControlPanel, 0)
		mustRevoke(t, f, hash, reason)
		if _, err := f.pool.Exec(ctx, `UPDATE sessions SET ended_at = ended_at - make_interval(secs => $2)
			WHERE session_token_hash = $1`, hash, ago.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	end(sessionguard.ReasonLogout, time.Hour)
	end(sessionguard.ReasonLogout, 2*time.Hour)
	end(sessionguard.ReasonAdminRevoke, 23*time.Hour)
	end(sessionguard.ReasonPasswordChange, 25*time.Hour)

	st, err := f.store.Stats(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantScopes := []pgstore.ScopeStats{
		{AppType: sessionguard.ControlPanel, TenantID: sessionguard.NoTenant, Live: 2, AwaitingCleanup: 1},
		{AppType: sessionguard.TenantApp, TenantID: f.tenant, Live: 1},
		{AppType: sessionguard.TenantApp, TenantID: other, Live: 1, AwaitingCleanup: 1},
	}
	if !reflect.DeepEqual(st.Scopes, wantScopes) {
		t.Errorf("Scopes = %+v\nwant %+v", st.Scopes, wantScopes)
	}
	wantEnded := []pgstore.ReasonCount{{Reason: sessionguard.ReasonLogout, Count: 2}, {Reason: sessionguard.ReasonAdminRevoke, Count: 1}}
	if !reflect.DeepEqual(st.Ended, wantEnded) {
		t.Errorf("Ended = %+v, want %+v", st.Ended, wantEnded)
	}
	if st.OldestLive.ID != oldestInfo.ID || st.OldestLive.UserID != f.user {
		t.Errorf("OldestLive = %+v, want the session created 3 hours ago", st.OldestLive)
	}
	if age := st.At.Sub(st.OldestLive.CreatedAt); age < 3*time.Hour || age > 3*time.Hour+time.Minute {
		t.Errorf("the oldest live session is %v old at At, want 3h", age)
	}
	// "Live" is the rule ListAllActive lists by.
	listed, err := f.store.ListAllActive(ctx, 0)
	if err != nil || len(listed) != 4 {
		t.Errorf("ListAllActive lists %d sessions (err %v); Stats counts 4 live", len(listed), err)
	}

	st, err = f.store.Stats(ctx, 48*time.Hour)
	wantEnded = append(wantEnded, pgstore.ReasonCount{Reason: sessionguard.ReasonPasswordChange, Count: 1})
	if err != nil || !reflect.DeepEqual(st.Ended, wantEnded) {
		t.Errorf("Stats over 48h: Ended = %+v (err %v), want %+v", st.Ended, err, wantEnded)
	}
}

func TestStatsEmpty(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	st, err := f.store.Stats(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Scopes) != 0 || len(st.Ended) != 0 || st.OldestLive.ID != "" || time.Since(st.At).Abs() > time.Minute {
		t.Errorf("Stats of an empty table = %+v; want no counts, no oldest session, At now", st)
	}
}

func TestStatsRefusesAPeriodBelowASecond(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	for _, since := range []time.Duration{0, -time.Hour, time.Second - 1} {
		if _, err := f.store.Stats(t.Context(), since); !errors.Is(err, pgstore.ErrInvalidArgument) {
			t.Errorf("Stats(%v) = %v, want ErrInvalidArgument", since, err)
		}
	}
}
