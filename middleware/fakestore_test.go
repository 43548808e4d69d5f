package middleware_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// fakeStore is an in-memory sessionguard.Store that follows the pgstore
// contract closely enough for the middleware's tests, on a clock the test
// controls, and counts its calls.
type fakeStore struct {
	mu      sync.Mutex
	now     time.Time
	rows    map[string]*fakeRow // by token hash
	retired map[string]*fakeRow // by the token hash a re-authentication rotated out
	calls   map[string]int
	err     error // when set, every call fails with it
	block   bool  // when set, every call waits for its context to end
	revokes []fakeRevoke
	created []sessionguard.NewSession
	// override, when set, replaces the answer of Validate and Peek for a
	// known hash (to simulate a misbehaving store).
	override func(sessionguard.Status) sessionguard.Status
}

type fakeRow struct {
	n            sessionguard.NewSession
	id           string
	created      time.Time
	lastActivity time.Time
	absExpires   time.Time
	active       bool
	reason       string
	authTime     time.Time
}

type fakeRevoke struct{ hash, reason string }

var _ sessionguard.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{
		now:     time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC),
		rows:    map[string]*fakeRow{},
		retired: map[string]*fakeRow{},
		calls:   map[string]int{},
	}
}

func sha256Hex(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// advance moves the store's (database) clock.
func (f *fakeStore) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeStore) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *fakeStore) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeStore) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// begin counts a call and returns the error the call must fail with, if any.
// It is called with f.mu held.
func (f *fakeStore) begin(ctx context.Context, method string) error {
	f.calls[method]++
	if f.block {
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		return ctx.Err()
	}
	return f.err
}

func (f *fakeStore) Create(ctx context.Context, n sessionguard.NewSession) (sessionguard.SessionInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "Create"); err != nil {
		return sessionguard.SessionInfo{}, err
	}
	if len(n.TokenHash) != 64 {
		return sessionguard.SessionInfo{}, fmt.Errorf("fake: bad hash length %d", len(n.TokenHash))
	}
	if f.taken(n.TokenHash) {
		return sessionguard.SessionInfo{}, fmt.Errorf("fake: %w", sessionguard.ErrDuplicateToken)
	}
	id := n.ID
	if id == "" {
		id = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(f.rows)+1)
	}
	if n.IdleTimeout == 0 {
		n.IdleTimeout = 4 * time.Hour
	}
	if n.AbsoluteTimeout == 0 {
		n.AbsoluteTimeout = 8 * time.Hour
	}
	authTime := f.now
	if !n.AuthTime.IsZero() && n.AuthTime.Before(authTime) {
		authTime = n.AuthTime // as pgstore: an earlier authentication is kept
	}
	row := &fakeRow{n: n, id: id, created: f.now, lastActivity: f.now, absExpires: f.now.Add(n.AbsoluteTimeout), active: true, authTime: authTime}
	f.rows[n.TokenHash] = row
	f.created = append(f.created, n)
	return sessionguard.SessionInfo{
		ID: id, UserID: n.UserID, TenantID: n.TenantID, AppType: n.AppType, IP: n.IP, UserAgent: n.UserAgent,
		CreatedAt: row.created, LastActivityAt: row.lastActivity, AbsoluteExpiresAt: row.absExpires, IdleTimeout: n.IdleTimeout,
		AuthTime: row.authTime, ACR: n.ACR, AMR: n.AMR,
	}, nil
}

// taken reports whether pgstore refuses hash for a new token
// (ErrDuplicateToken): a session holds it, or a re-authentication rotated
// it out (migration 031; the fake never deletes a row). Called with f.mu
// held.
func (f *fakeStore) taken(hash string) bool {
	_, live := f.rows[hash]
	_, retired := f.retired[hash]
	return live || retired
}

func (f *fakeStore) Validate(ctx context.Context, hash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	return f.status(ctx, "Validate", hash, scope, true)
}

func (f *fakeStore) Peek(ctx context.Context, hash string, scope sessionguard.Scope) (sessionguard.Status, error) {
	return f.status(ctx, "Peek", hash, scope, false)
}

func (f *fakeStore) status(ctx context.Context, method, hash string, scope sessionguard.Scope, touch bool) (sessionguard.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, method); err != nil {
		return sessionguard.Status{}, err
	}
	row, ok := f.rows[hash]
	if !ok {
		return sessionguard.Status{State: sessionguard.StateUnknown}, nil
	}
	// End the session if a timeout passed (the seed's get_session_status).
	if row.active {
		switch {
		case !f.now.Before(row.absExpires):
			row.active, row.reason = false, sessionguard.ReasonAbsoluteTimeout
		case !f.now.Before(row.lastActivity.Add(row.n.IdleTimeout)):
			row.active, row.reason = false, sessionguard.ReasonIdleTimeout
		}
	}
	st := sessionguard.Status{
		SessionID: row.id, UserID: row.n.UserID, TenantID: row.n.TenantID, AppType: row.n.AppType,
		CreatedAt: row.created, AbsoluteExpiresAt: row.absExpires, IdleTimeout: row.n.IdleTimeout, CheckedAt: f.now,
		AuthTime: row.authTime, ACR: row.n.ACR, AMR: row.n.AMR,
	}
	switch {
	case !row.active && row.reason == sessionguard.ReasonIdleTimeout:
		st.State, st.EndReason = sessionguard.StateIdle, row.reason
	case !row.active && row.reason == sessionguard.ReasonAbsoluteTimeout:
		st.State, st.EndReason = sessionguard.StateAbsolute, row.reason
	case !row.active:
		st.State, st.EndReason = sessionguard.StateRevoked, row.reason
	case scope.AppType != "" && scope.AppType != row.n.AppType:
		st.State = sessionguard.StateWrongApp
	case scope.TenantID != sessionguard.NoTenant && scope.TenantID != row.n.TenantID:
		st.State = sessionguard.StateWrongTenant
	default:
		st.State = sessionguard.StateValid
		if touch {
			row.lastActivity = f.now
		}
	}
	st.LastActivityAt = row.lastActivity
	st.IdleExpiresAt = row.lastActivity.Add(row.n.IdleTimeout)
	if f.override != nil {
		st = f.override(st)
	}
	return st, nil
}

func (f *fakeStore) Revoke(ctx context.Context, hash, reason string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "Revoke"); err != nil {
		return false, err
	}
	f.revokes = append(f.revokes, fakeRevoke{hash, reason})
	row, ok := f.rows[hash]
	if !ok || !row.active {
		return false, nil
	}
	row.active, row.reason = false, reason
	return true, nil
}

// SignOut ends, as pgstore does, the session of hash or the one a
// re-authentication rotated hash out of; it is recorded in revokes with
// reason "logout", as a Revoke is.
func (f *fakeStore) SignOut(ctx context.Context, hash string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "SignOut"); err != nil {
		return false, err
	}
	f.revokes = append(f.revokes, fakeRevoke{hash, sessionguard.ReasonLogout})
	row, ok := f.rows[hash]
	if !ok {
		row, ok = f.retired[hash]
	}
	if !ok || !row.active {
		return false, nil
	}
	row.active, row.reason = false, sessionguard.ReasonLogout
	return true, nil
}

// seed creates a session for token directly in the store, bypassing SignIn.
func (f *fakeStore) seed(token string, n sessionguard.NewSession) {
	n.TokenHash = sha256Hex(token)
	if _, err := f.Create(context.Background(), n); err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Create"]--
	f.created = f.created[:len(f.created)-1]
}

// TestFakeStoreRetiredHashes: the fake answers as pgstore does for a token
// hash a re-authentication rotated out, run against both: unknown to
// Validate, nothing to Revoke, the session's own to SignOut (once), and
// refused with ErrDuplicateToken by Create and as Reauthenticate's new hash.
// The fake took a retired hash for a new session and as a new token.
func TestFakeStoreRetiredHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := []struct {
		name  string
		store func(t *testing.T) (sessionguard.Store, int64)
	}{
		{"fake", func(*testing.T) (sessionguard.Store, int64) { return newFakeStore(), 42 }},
		{"pgstore", func(t *testing.T) (sessionguard.Store, int64) {
			db := newRealDB(t, pgstore.Config{})
			return db.store, db.user
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			store, user := st.store(t)
			t0, t1, t2 := sha256Hex(randomToken(t)), sha256Hex(randomToken(t)), sha256Hex(randomToken(t))
			info, err := store.Create(ctx, sessionguard.NewSession{TokenHash: t0, UserID: user, AppType: sessionguard.ControlPanel})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: info.ID, OldTokenHash: t0, NewTokenHash: t1}); err != nil || !ok {
				t.Fatalf("Reauthenticate = %v, %v", ok, err)
			}
			if s, err := store.Validate(ctx, t0, sessionguard.Scope{}); err != nil || s.State != sessionguard.StateUnknown {
				t.Errorf("Validate of the retired hash = %q, %v; want unknown", s.State, err)
			}
			if ended, err := store.Revoke(ctx, t0, sessionguard.ReasonAdminRevoke); err != nil || ended {
				t.Errorf("Revoke of the retired hash = %v, %v; want false", ended, err)
			}
			if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: t0, UserID: user, AppType: sessionguard.ControlPanel}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
				t.Errorf("Create of the retired hash = %v, want ErrDuplicateToken", err)
			}
			other, err := store.Create(ctx, sessionguard.NewSession{TokenHash: t2, UserID: user, AppType: sessionguard.ControlPanel})
			if err != nil {
				t.Fatal(err)
			}
			for _, to := range []string{t0, t1} { // retired, and another session's
				if _, ok, err := store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: other.ID, OldTokenHash: t2, NewTokenHash: to}); !errors.Is(err, sessionguard.ErrDuplicateToken) || ok {
					t.Errorf("Reauthenticate to a taken hash = %v, %v; want ErrDuplicateToken", ok, err)
				}
			}
			if ended, err := store.SignOut(ctx, t0); err != nil || !ended {
				t.Errorf("SignOut by the retired hash = %v, %v; want true", ended, err)
			}
			if s, err := store.Validate(ctx, t1, sessionguard.Scope{}); err != nil || s.State != sessionguard.StateRevoked || s.EndReason != sessionguard.ReasonLogout {
				t.Errorf("Validate of the new hash after the sign-out = %q (%q), %v; want revoked (logout)", s.State, s.EndReason, err)
			}
			if ended, err := store.SignOut(ctx, t0); err != nil || ended {
				t.Errorf("second SignOut by the retired hash = %v, %v; want false", ended, err)
			}
		})
	}
}
