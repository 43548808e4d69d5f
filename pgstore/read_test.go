package pgstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// When no write is due, Validate and Peek answer with one plain SELECT
// instead of calling sessionguard_check. For every state, that answer is the
// function's own answer (called without a touch), field for field.
func TestReadPathMatchesTheFunction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: time.Hour})
	panel := sessionguard.Scope{AppType: sessionguard.ControlPanel}
	tests := []struct {
		name    string
		edit    func(*sessionguard.NewSession)
		prepare func(t *testing.T, hash string)
		scope   sessionguard.Scope
		want    sessionguard.State
	}{
		{"valid", nil, nil, sessionguard.Scope{}, sessionguard.StateValid},
		{"valid in scope", nil, nil, panel, sessionguard.StateValid},
		{"idle expired", nil, func(t *testing.T, h string) { f.age(t, h, 4*time.Hour, 0) }, sessionguard.Scope{}, sessionguard.StateIdle},
		{"absolute expired", nil, func(t *testing.T, h string) { f.age(t, h, 0, 8*time.Hour) }, sessionguard.Scope{}, sessionguard.StateAbsolute},
		{"both expired", nil, func(t *testing.T, h string) { f.age(t, h, 5*time.Hour, 9*time.Hour) }, sessionguard.Scope{}, sessionguard.StateAbsolute},
		{"expired and out of scope", nil, func(t *testing.T, h string) { f.age(t, h, 5*time.Hour, 0) },
			sessionguard.Scope{AppType: sessionguard.TenantApp}, sessionguard.StateIdle},
		{"logged out", nil, func(t *testing.T, h string) { mustRevoke(t, f, h, sessionguard.ReasonLogout) }, sessionguard.Scope{}, sessionguard.StateRevoked},
		{"ended as idle by cleanup", nil, func(t *testing.T, h string) {
			f.age(t, h, 5*time.Hour, 0)
			if _, err := f.store.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
		}, sessionguard.Scope{}, sessionguard.StateIdle},
		{"ended by hand without a reason", nil, func(t *testing.T, h string) {
			if _, err := f.pool.Exec(ctx, "UPDATE sessions SET is_active = false WHERE session_token_hash = $1", h); err != nil {
				t.Fatal(err)
			}
		}, sessionguard.Scope{}, sessionguard.StateRevoked},
		{"wrong app", nil, nil, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant}, sessionguard.StateWrongApp},
		{"wrong tenant", func(n *sessionguard.NewSession) { n.AppType = sessionguard.TenantApp; n.TenantID = f.tenant },
			nil, sessionguard.Scope{TenantID: f.tenant + 1}, sessionguard.StateWrongTenant},
		{"unknown", nil, nil, sessionguard.Scope{}, sessionguard.StateUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := newHash(t)
			if tt.want != sessionguard.StateUnknown {
				f.create(t, func(n *sessionguard.NewSession) {
					n.TokenHash = hash
					if tt.edit != nil {
						tt.edit(n)
					}
				})
			}
			if tt.prepare != nil {
				tt.prepare(t, hash)
			}
			got, err := f.store.Peek(ctx, hash, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			want := f.callCheck(t, hash, tt.scope)
			if got.State != tt.want {
				t.Fatalf("state = %q, want %q", got.State, tt.want)
			}
			got.CheckedAt, want.CheckedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read path:\n%+v\nsessionguard_check:\n%+v", got, want)
			}
			// The liveness rule of every other statement agrees: live
			// exactly when neither ended nor past a timeout.
			var live bool
			err = f.pool.QueryRow(ctx, "SELECT "+pgstore.LiveSQL+" FROM sessions s WHERE s.session_token_hash = $1", hash).Scan(&live)
			switch {
			case tt.want == sessionguard.StateUnknown:
				if !errors.Is(err, pgx.ErrNoRows) {
					t.Fatalf("liveness of no row: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			case live != (got.State == sessionguard.StateValid || got.State == sessionguard.StateWrongApp || got.State == sessionguard.StateWrongTenant):
				t.Fatalf("liveSQL says live=%v for state %q", live, got.State)
			}
			if tt.want == sessionguard.StateValid {
				// Nothing due (touch interval 1 h): Validate answers from the read too.
				v, err := f.store.Validate(ctx, hash, tt.scope)
				if err != nil {
					t.Fatal(err)
				}
				v.CheckedAt = time.Time{}
				if !reflect.DeepEqual(v, want) {
					t.Fatalf("Validate:\n%+v\nsessionguard_check:\n%+v", v, want)
				}
			}
		})
	}
}

// callCheck calls sessionguard_check without a touch, behind the store's back.
func (f fixture) callCheck(t *testing.T, hash string, scope sessionguard.Scope) sessionguard.Status {
	t.Helper()
	var (
		st                      sessionguard.Status
		state                   string
		reason, id, app         *string
		user, tenant            *int64
		created, last, absolute *time.Time
		idle                    *int32
		authTime                *time.Time
		acr                     *string
		appScope                *string
		tenantScope             *int64
	)
	if scope.AppType != "" {
		s := string(scope.AppType)
		appScope = &s
	}
	if scope.TenantID != 0 {
		tenantScope = &scope.TenantID
	}
	// The function predates migration 027's authentication columns; they
	// come from the row it reports on.
	err := f.pool.QueryRow(context.Background(), `SELECT c.state, c.end_reason, c.session_id::text, c.user_id, c.tenant_id, c.app_type,
		c.created_at, c.last_activity_at, c.idle_timeout_seconds, c.absolute_expires_at, c.checked_at, s.auth_time, s.acr, s.amr
		FROM sessionguard_check($1, false, 3600, $2, $3) c LEFT JOIN sessions s ON s.id = c.session_id`, hash, appScope, tenantScope).
		Scan(&state, &reason, &id, &user, &tenant, &app, &created, &last, &idle, &absolute, &st.CheckedAt, &authTime, &acr, &st.AMR)
	if err != nil {
		t.Fatal(err)
	}
	st.State = sessionguard.State(state)
	if reason != nil {
		st.EndReason = *reason
	}
	if id != nil {
		st.SessionID, st.UserID, st.AppType = *id, *user, sessionguard.AppType(*app)
		st.CreatedAt, st.LastActivityAt, st.AbsoluteExpiresAt = *created, *last, *absolute
		st.IdleTimeout = time.Duration(*idle) * time.Second
		st.IdleExpiresAt = st.LastActivityAt.Add(st.IdleTimeout)
		st.AuthTime = *authTime
		if acr != nil {
			st.ACR = *acr
		}
		if tenant != nil {
			st.TenantID = *tenant
		}
	}
	return st
}
