package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// A re-authentication gives the session a new token hash and records the
// authentication; the session keeps its id and history, the old hash is
// unknown at once, caches are told to forget it, and scs data moves with it.
func TestReauthenticateRotatesTheToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	scsStore := newSCSStore(t, f)
	old := newSCSToken(t)
	_, before := f.create(t, func(n *sessionguard.NewSession) {
		n.TokenHash, n.AppType, n.TenantID = old.hash, sessionguard.TenantApp, f.tenant
		n.ACR, n.AMR = "aal1", []string{"pwd"}
	})
	if before.ACR != "aal1" || !slices.Equal(before.AMR, []string{"pwd"}) || before.AuthTime.IsZero() {
		t.Fatalf("Create recorded acr %q amr %v auth_time %v", before.ACR, before.AMR, before.AuthTime)
	}
	mustCommit(t, scsStore, old.key, []byte("flash"), time.Now().Add(time.Hour))
	// The last authentication was an hour ago.
	if _, err := f.pool.Exec(ctx, "UPDATE sessions SET auth_time = auth_time - interval '1 hour' WHERE session_token_hash = $1", old.hash); err != nil {
		t.Fatal(err)
	}
	listener := listen(t, f.pool)

	fresh := newSCSToken(t)
	info, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{
		SessionID: before.ID, OldTokenHash: old.hash, NewTokenHash: fresh.hash, ACR: "aal2", AMR: []string{"pwd", "otp"}})
	if err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}

	if got := nextPayload(t, listener); got != old.hash {
		t.Errorf("notified %q, want the old hash", got)
	}
	if info.ID != before.ID || !info.CreatedAt.Equal(before.CreatedAt) || !info.AbsoluteExpiresAt.Equal(before.AbsoluteExpiresAt) ||
		info.UserID != f.user || info.TenantID != f.tenant || info.AppType != sessionguard.TenantApp {
		t.Errorf("history not kept:\nbefore %+v\nafter  %+v", before, info)
	}
	if !info.AuthTime.After(before.AuthTime) || info.ACR != "aal2" || !slices.Equal(info.AMR, []string{"pwd", "otp"}) {
		t.Errorf("recorded auth_time %v (created %v), acr %q, amr %v", info.AuthTime, before.AuthTime, info.ACR, info.AMR)
	}

	st, err := f.store.Validate(ctx, old.hash, sessionguard.Scope{})
	if err != nil || st.State != sessionguard.StateUnknown {
		t.Errorf("old hash: %q, %v; want unknown", st.State, err)
	}
	st, err = f.store.Validate(ctx, fresh.hash, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant})
	if err != nil || st.State != sessionguard.StateValid {
		t.Fatalf("new hash: %q, %v; want valid", st.State, err)
	}
	if st.SessionID != before.ID || !st.AuthTime.Equal(info.AuthTime) || st.ACR != "aal2" || !slices.Equal(st.AMR, info.AMR) {
		t.Errorf("status after rotation: %+v", st)
	}
	if age := st.AuthAge(); age < 0 || age > time.Minute {
		t.Errorf("AuthAge = %v right after re-authentication", age)
	}

	if f.dataRows(t, old.hash) != 0 || f.dataRows(t, fresh.hash) != 1 {
		t.Errorf("scs data rows: old %d, new %d; want 0, 1", f.dataRows(t, old.hash), f.dataRows(t, fresh.hash))
	}
	if b, found, err := scsStore.FindCtx(ctx, fresh.key); err != nil || !found || string(b) != "flash" {
		t.Errorf("scs data under the new token: %q, %v, %v", b, found, err)
	}
	if n := countRows(t, f, "SELECT count(*) FROM sessions"); n != 1 {
		t.Errorf("%d session rows after rotation, want the same one", n)
	}
}

// Only a live session still holding the old hash is rotated.
func TestReauthenticateRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	tests := []struct {
		name    string
		prepare func(t *testing.T, r *sessionguard.Reauthentication)
		wantErr error // nil: reported as false, nil
	}{
		{"logged out", func(t *testing.T, r *sessionguard.Reauthentication) {
			mustRevoke(t, f, r.OldTokenHash, sessionguard.ReasonLogout)
		}, nil},
		{"idle expired, not yet recorded", func(t *testing.T, r *sessionguard.Reauthentication) {
			f.age(t, r.OldTokenHash, 5*time.Hour, 0)
		}, nil},
		{"absolute expired", func(t *testing.T, r *sessionguard.Reauthentication) {
			f.age(t, r.OldTokenHash, 0, 9*time.Hour)
		}, nil},
		{"another session's id", func(t *testing.T, r *sessionguard.Reauthentication) {
			_, other := f.create(t, nil)
			r.SessionID = other.ID
		}, nil},
		{"unknown hash", func(t *testing.T, r *sessionguard.Reauthentication) { r.OldTokenHash = newHash(t) }, nil},
		{"rotated already", func(t *testing.T, r *sessionguard.Reauthentication) {
			again := *r
			again.NewTokenHash = newHash(t)
			if _, ok, err := f.store.Reauthenticate(ctx, again); !ok || err != nil {
				t.Fatalf("first rotation: %v, %v", ok, err)
			}
		}, nil},
		{"same hash", func(t *testing.T, r *sessionguard.Reauthentication) { r.NewTokenHash = r.OldTokenHash }, pgstore.ErrInvalidArgument},
		{"malformed new hash", func(t *testing.T, r *sessionguard.Reauthentication) { r.NewTokenHash = "ABC" }, pgstore.ErrInvalidArgument},
		{"malformed session id", func(t *testing.T, r *sessionguard.Reauthentication) { r.SessionID = "1 OR 1=1" }, pgstore.ErrInvalidArgument},
		{"acr with a quote", func(t *testing.T, r *sessionguard.Reauthentication) { r.ACR = `aal2", x="` }, pgstore.ErrInvalidArgument},
		{"acr with a space", func(t *testing.T, r *sessionguard.Reauthentication) { r.ACR = "aal1 aal2" }, pgstore.ErrInvalidArgument},
		{"too many amr values", func(t *testing.T, r *sessionguard.Reauthentication) {
			r.AMR = make([]string, sessionguard.MaxAMRValues+1)
			for i := range r.AMR {
				r.AMR[i] = "pwd"
			}
		}, pgstore.ErrInvalidArgument},
		{"empty amr value", func(t *testing.T, r *sessionguard.Reauthentication) { r.AMR = []string{""} }, pgstore.ErrInvalidArgument},
		{"malformed twin hash", func(t *testing.T, r *sessionguard.Reauthentication) { r.OldTwinHash = "x" }, pgstore.ErrInvalidArgument},
		{"twin hash is the old one", func(t *testing.T, r *sessionguard.Reauthentication) { r.OldTwinHash = r.OldTokenHash }, pgstore.ErrInvalidArgument},
		{"twin hash is the new one", func(t *testing.T, r *sessionguard.Reauthentication) { r.OldTwinHash = r.NewTokenHash }, pgstore.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, info := f.create(t, nil)
			r := sessionguard.Reauthentication{SessionID: info.ID, OldTokenHash: hash, NewTokenHash: newHash(t)}
			tt.prepare(t, &r)
			got, ok, err := f.store.Reauthenticate(ctx, r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || ok {
					t.Fatalf("Reauthenticate = %v, %v; want %v", ok, err, tt.wantErr)
				}
				return
			}
			if err != nil || ok || got.ID != "" {
				t.Fatalf("Reauthenticate = %+v, %v, %v; want not applied", got, ok, err)
			}
			if st, err := f.store.Peek(ctx, r.NewTokenHash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateUnknown {
				t.Fatalf("the refused new hash: %q, %v; want unknown", st.State, err)
			}
		})
	}
}

// Of concurrent re-authentications with one old token, exactly one wins.
func TestReauthenticateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	hash, info := f.create(t, nil)
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []string
		errs []error
	)
	for range n {
		next := newHash(t)
		wg.Go(func() {
			_, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: info.ID, OldTokenHash: hash, NewTokenHash: next})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				won = append(won, next)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 || len(won) != 1 {
		t.Fatalf("%d rotations won, errors %v; want exactly one", len(won), errs)
	}
	if st, err := f.store.Validate(ctx, won[0], sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid || st.SessionID != info.ID {
		t.Fatalf("winner: %+v, %v", st, err)
	}
}

// Rows created before migration 027 have no auth_time: they authenticated
// when they were created, and say so.
func TestAuthTimeOfOlderRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	hash := newHash(t)
	if _, err := f.pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, created_at, auth_time)
		VALUES ($1, $2, now() + interval '1 hour', now() - interval '2 hours', NULL)`, f.user, hash); err != nil {
		t.Fatal(err)
	}
	// The read path, and sessionguard_check's (which writes on every call).
	writing, err := pgstore.New(f.pool, pgstore.Config{TouchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, check := range []func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error){f.store.Peek, f.store.Validate, writing.Validate} {
		st, err := check(ctx, hash, sessionguard.Scope{})
		if err != nil || st.State != sessionguard.StateValid {
			t.Fatalf("%q, %v", st.State, err)
		}
		if !st.AuthTime.Equal(st.CreatedAt) || st.ACR != "" || st.AMR != nil {
			t.Fatalf("auth_time %v (created %v), acr %q, amr %v", st.AuthTime, st.CreatedAt, st.ACR, st.AMR)
		}
	}
	list, err := f.store.ListActive(ctx, f.user)
	if err != nil || len(list) != 1 || !list[0].AuthTime.Equal(list[0].CreatedAt) {
		t.Fatalf("ListActive = %+v, %v", list, err)
	}
}

func countRows(t *testing.T, f fixture, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A cache stops answering for the old token of a rotated session: at once
// when the rotation goes through it, and on the notification when another
// instance rotates it.
func TestCacheForgetsTheRotatedToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	for _, through := range []string{"this cache", "another instance"} {
		t.Run(through, func(t *testing.T) {
			c := newCache(t, f.store, pgstore.CacheConfig{})
			runCache(t, c)
			hash, info := f.create(t, nil)
			mustValidate(t, c, hash, sessionguard.Scope{})
			if _, wasHit := hit(t, c, hash); !wasHit {
				t.Fatal("the session is not cached")
			}
			var rotator interface {
				Reauthenticate(context.Context, sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error)
			} = c
			if through == "another instance" {
				rotator = f.store
			}
			next := newHash(t)
			if _, ok, err := rotator.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: info.ID, OldTokenHash: hash, NewTokenHash: next}); !ok || err != nil {
				t.Fatalf("Reauthenticate = %v, %v", ok, err)
			}
			if through == "this cache" {
				if st := mustValidate(t, c, hash, sessionguard.Scope{}); st.State != sessionguard.StateUnknown {
					t.Fatalf("old token right after the rotation: %q", st.State)
				}
			} else {
				eventually(t, "the old token is refused", func() bool {
					return mustValidate(t, c, hash, sessionguard.Scope{}).State == sessionguard.StateUnknown
				})
			}
			if st := mustValidate(t, c, next, sessionguard.Scope{}); st.State != sessionguard.StateValid || st.SessionID != info.ID {
				t.Fatalf("new token: %+v", st)
			}
		})
	}
}

// Migration 027 runs twice without harm and keeps the recorded values.
func TestReauthenticationMigrationIsIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	hash, _ := f.create(t, func(n *sessionguard.NewSession) { n.ACR, n.AMR = "aal2", []string{"pwd", "otp"} })
	var sql string
	for _, m := range schema.Migrations() {
		if m.Version == 27 {
			sql = m.SQL
		}
	}
	if sql == "" {
		t.Fatal("migration 027 is not embedded")
	}
	mustExec(t, f, sql)
	st, err := f.store.Peek(context.Background(), hash, sessionguard.Scope{})
	if err != nil || st.ACR != "aal2" || !slices.Equal(st.AMR, []string{"pwd", "otp"}) || st.AuthTime.IsZero() {
		t.Fatalf("after running 027 again: %+v, %v", st, err)
	}
}

// scs's RenewToken retires the old token through Delete: for a
// re-authentication (sessionguard.WithRotation) only the data goes and the
// session lives on; any other retirement ends the session.
func TestSCSDeleteDuringRotationKeepsTheSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	for _, rotating := range []bool{true, false} {
		tok := newSCSToken(t)
		f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
		mustCommit(t, s, tok.key, []byte("data"), time.Now().Add(time.Hour))
		dctx := ctx
		if rotating {
			dctx = sessionguard.WithRotation(ctx, tok.hash)
		}
		if err := s.DeleteCtx(dctx, tok.key); err != nil {
			t.Fatal(err)
		}
		if r := f.row(t, tok.hash); r.Active != rotating || f.dataRows(t, tok.hash) != 0 {
			t.Fatalf("rotating=%v: active=%v (%q), data rows %d", rotating, r.Active, r.reason(), f.dataRows(t, tok.hash))
		}
	}
}

// The rotation is one transaction, so it works through PgBouncer in
// transaction-pooling mode.
func TestReauthenticateBehindPgBouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, _ := newBouncedFixture(t, pgstore.Config{Logger: quiet})
	hash, info := f.create(t, nil)
	next, twin := newHash(t), newHash(t)
	got, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: info.ID, OldTokenHash: hash, NewTokenHash: next, ACR: "aal2",
		OldTwinHash: twin})
	if err != nil || !ok || got.ID != info.ID || got.ACR != "aal2" {
		t.Fatalf("Reauthenticate = %+v, %v, %v", got, ok, err)
	}
	// Retired in the transaction, through a transaction-local setting.
	for _, h := range []string{hash, twin} {
		if _, err := f.store.Create(ctx, sessionguard.NewSession{TokenHash: h, UserID: f.user, AppType: sessionguard.ControlPanel}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
			t.Fatalf("Create of a retired hash behind PgBouncer = %v, want ErrDuplicateToken", err)
		}
	}
	if st, err := f.store.Validate(ctx, hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateUnknown {
		t.Fatalf("old hash: %q, %v", st.State, err)
	}
	if st, err := f.store.Validate(ctx, next, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateValid || st.ACR != "aal2" {
		t.Fatalf("new hash: %+v, %v", st, err)
	}
}

// A re-authentication is timed as operation "reauthenticate", and a session
// the limit ended is counted as revoked with reason session_limit.
func TestReauthenticateAndLimitMetrics(t *testing.T) {
	t.Parallel()
	m := metrictest.New(t)
	f := newFixture(t, pgstore.Config{MeterProvider: m.Provider, Logger: quiet})
	hash, info := f.create(t, nil)
	if _, ok, err := f.store.Reauthenticate(context.Background(), sessionguard.Reauthentication{
		SessionID: info.ID, OldTokenHash: hash, NewTokenHash: newHash(t)}); !ok || err != nil {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
	f.create(t, func(n *sessionguard.NewSession) { n.Limit = sessionguard.SessionLimit{Max: 1} })
	s := m.Collect(t)
	if got := s.Value("sessionguard.store.duration", op("reauthenticate", "ok")...); got != 1 {
		t.Errorf("reauthenticate timed %d times, want 1", got)
	}
	if got := s.Value("sessionguard.revocations", attribute.String("reason", "session_limit")); got != 1 {
		t.Errorf("session_limit revocations %d, want 1", got)
	}
}
