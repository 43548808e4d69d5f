package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestCreateSetsExpiryFromTheDatabaseClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	hash, info := f.create(t, func(n *sessionguard.NewSession) {
		n.IdleTimeout = 30 * time.Minute
		n.AbsoluteTimeout = 2 * time.Hour
	})
	var dbNow time.Time
	if err := f.pool.QueryRow(ctx, "SELECT now()").Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	if d := info.AbsoluteExpiresAt.Sub(info.CreatedAt); d != 2*time.Hour {
		t.Fatalf("absolute_expires_at - created_at = %v, want 2h", d)
	}
	if d := dbNow.Sub(info.CreatedAt); d < 0 || d > 5*time.Second {
		t.Fatalf("created_at %v is not the database's now %v", info.CreatedAt, dbNow)
	}
	st, err := f.store.Peek(ctx, hash, sessionguard.Scope{})
	if err != nil || st.IdleTimeout != 30*time.Minute {
		t.Fatalf("stored idle timeout = %v, %v; want 30m", st.IdleTimeout, err)
	}
}

func TestCreateRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	taken, takenInfo := f.create(t, nil)

	tests := []struct {
		name string
		edit func(*sessionguard.NewSession)
		want error
	}{
		{"malformed hash", func(n *sessionguard.NewSession) { n.TokenHash = "token-in-clear" }, pgstore.ErrInvalidArgument},
		{"uppercase hash", func(n *sessionguard.NewSession) { n.TokenHash = strings.ToUpper(newHash(t)) }, pgstore.ErrInvalidArgument},
		{"unknown app type", func(n *sessionguard.NewSession) { n.AppType = "mobile" }, pgstore.ErrInvalidArgument},
		{"no user", func(n *sessionguard.NewSession) { n.UserID = 0 }, pgstore.ErrInvalidArgument},
		{"fractional timeout", func(n *sessionguard.NewSession) { n.IdleTimeout = 1500 * time.Millisecond }, pgstore.ErrInvalidArgument},
		{"bad session id", func(n *sessionguard.NewSession) { n.ID = "1234" }, pgstore.ErrInvalidArgument},
		{"unknown user", func(n *sessionguard.NewSession) { n.UserID = 999999 }, pgstore.ErrUnknownUser},
		{"unknown tenant", func(n *sessionguard.NewSession) { n.TenantID = 999999 }, pgstore.ErrUnknownTenant},
		{"reused token", func(n *sessionguard.NewSession) { n.TokenHash = taken }, sessionguard.ErrDuplicateToken},
		// A token's session-id claim names the row: recorded twice, its id is taken.
		{"taken session id", func(n *sessionguard.NewSession) { n.ID = takenInfo.ID }, sessionguard.ErrDuplicateToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := sessionguard.NewSession{TokenHash: newHash(t), UserID: f.user, AppType: sessionguard.ControlPanel}
			tt.edit(&n)
			_, err := f.store.Create(ctx, n)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Create = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), n.TokenHash) || strings.Contains(err.Error(), taken) {
				t.Fatalf("error %q contains a token hash", err)
			}
		})
	}
}

// Client-controlled text must never make an INSERT fail or be stored as is.
func TestCreateStoresHostileClientTextSafely(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	ua := "Mozilla\x00/5.0 \xff\xfe" + strings.Repeat("é", 600)
	_, info := f.create(t, func(n *sessionguard.NewSession) { n.UserAgent = ua; n.IP = "<script>" })
	if info.IP != "" {
		t.Fatalf("IP %q stored for a non-address", info.IP)
	}
	for in, want := range map[string]string{
		"2001:db8::1":                        "2001:db8::1",
		"::ffff:192.0.2.1":                   "192.0.2.1",
		"fe80::1%" + strings.Repeat("x", 60): "fe80::1", // a zone would overflow VARCHAR(45)
		"192.0.2.1:80":                       "",
		"1.2.3.4, 5.6.7.8":                   "",
	} {
		_, info := f.create(t, func(n *sessionguard.NewSession) { n.IP = in })
		if info.IP != want {
			t.Errorf("IP %q stored as %q, want %q", in, info.IP, want)
		}
	}
	if len(info.UserAgent) > 512 || strings.ContainsRune(info.UserAgent, 0) {
		t.Fatalf("user agent stored as %d bytes, NUL=%v", len(info.UserAgent), strings.ContainsRune(info.UserAgent, 0))
	}
	list, err := f.store.ListActive(ctx, f.user)
	if err != nil || len(list) != 6 {
		t.Fatalf("ListActive = %d rows, %v", len(list), err)
	}
	for _, s := range list {
		if s.ID == info.ID && s.UserAgent != info.UserAgent {
			t.Fatalf("user agent read back as %q", s.UserAgent)
		}
	}
}

func TestErrorsNeverContainTheHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	hash, _ := f.create(t, nil)
	f.pool.Close()

	_, err1 := f.store.Validate(ctx, hash, sessionguard.Scope{})
	_, err2 := f.store.Revoke(ctx, hash, sessionguard.ReasonLogout)
	for _, err := range []error{err1, err2} {
		if err == nil {
			t.Fatal("a query on a closed pool succeeded")
		}
		if strings.Contains(err.Error(), hash) {
			t.Fatalf("error %q contains the hash", err)
		}
		if !strings.HasPrefix(err.Error(), "pgstore: ") {
			t.Fatalf("error %q lacks the package prefix", err)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	if _, err := pgstore.New(nil, pgstore.Config{}); !isInvalid(err) {
		t.Fatalf("New(nil) = %v", err)
	}
	f := newFixture(t, pgstore.Config{})
	if f.store.TouchInterval() != pgstore.DefaultTouchInterval {
		t.Fatalf("default touch interval = %v", f.store.TouchInterval())
	}
	if _, err := pgstore.New(f.pool, pgstore.Config{TouchInterval: 1500 * time.Millisecond}); !isInvalid(err) {
		t.Fatalf("fractional TouchInterval = %v", err)
	}
	always, err := pgstore.New(f.pool, pgstore.Config{TouchInterval: -1})
	if err != nil || always.TouchInterval() != 0 {
		t.Fatalf("negative TouchInterval = %v, %v", always.TouchInterval(), err)
	}
}

// An authentication time given to Create can only age the session's
// authentication: an earlier one is kept (an identity provider's sign-in
// before the application recorded its token), a later one is the creation.
func TestCreateKeepsAnEarlierAuthTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	earlier := time.Now().Add(-3 * time.Hour).Truncate(time.Microsecond)
	tests := []struct {
		name     string
		authTime time.Time
		want     func(info sessionguard.SessionInfo) time.Time
	}{
		{"none: the creation", time.Time{}, func(info sessionguard.SessionInfo) time.Time { return info.CreatedAt }},
		{"earlier: kept", earlier, func(sessionguard.SessionInfo) time.Time { return earlier }},
		{"later: the creation", time.Now().Add(time.Hour), func(info sessionguard.SessionInfo) time.Time { return info.CreatedAt }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, info := f.create(t, func(n *sessionguard.NewSession) { n.AuthTime = tt.authTime })
			if want := tt.want(info); !info.AuthTime.Equal(want) {
				t.Errorf("Create answered auth time %v, want %v", info.AuthTime, want)
			}
			st, err := f.store.Peek(context.Background(), hash, sessionguard.Scope{})
			if err != nil || !st.AuthTime.Equal(tt.want(info)) {
				t.Errorf("stored auth time %v (%v), want %v", st.AuthTime, err, tt.want(info))
			}
		})
	}
}
