package pgstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// Every statement that ends sessions or rotates a token out fences this
// instance's replica when it fails with its outcome unknown (README: "A
// revoke whose statement fails with its outcome unknown ... fences every
// session on this instance"), not only Revoke, which
// TestEndingWithAnUnknownOutcomeFencesTheReplica drives: each operation here
// waits for a row lock another transaction holds until its context ends.
func TestEveryEndingWithAnUnknownOutcomeFencesTheReplica(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	read := pgtest.NewPoolFromConnString(t, pool.Config().ConnString())
	s, err := New(pool, Config{ReadPool: read})
	if err != nil {
		t.Fatal(err)
	}
	scs, err := NewSCSStore(s, SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, op := range []struct {
		name string
		end  func(ctx context.Context, user int64, hash, id string) error
	}{
		{"Revoke", func(ctx context.Context, _ int64, hash, _ string) error {
			_, err := s.Revoke(ctx, hash, sessionguard.ReasonLogout)
			return err
		}},
		{"SignOut", func(ctx context.Context, _ int64, hash, _ string) error {
			_, err := s.SignOut(ctx, hash)
			return err
		}},
		{"RevokeSession", func(ctx context.Context, _ int64, _, id string) error {
			_, err := s.RevokeSession(ctx, id, sessionguard.ReasonAdminRevoke)
			return err
		}},
		{"RevokeUserSession", func(ctx context.Context, user int64, _, id string) error {
			_, err := s.RevokeUserSession(ctx, user, id, sessionguard.ReasonLogout)
			return err
		}},
		{"RevokeAll", func(ctx context.Context, user int64, _, _ string) error {
			_, err := s.RevokeAll(ctx, user, sessionguard.ReasonAdminRevoke)
			return err
		}},
		{"RevokeAllExcept", func(ctx context.Context, user int64, _, _ string) error {
			_, err := s.RevokeAllExcept(ctx, user, "00000000-0000-4000-8000-000000000000", sessionguard.ReasonLogout)
			return err
		}},
		{"RevokeEveryone", func(ctx context.Context, _ int64, _, _ string) error {
			_, err := s.RevokeEveryone(ctx, sessionguard.ReasonAdminRevoke)
			return err
		}},
		{"Reauthenticate", func(ctx context.Context, _ int64, hash, id string) error {
			_, _, err := s.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: id, OldTokenHash: hash,
				NewTokenHash: fmt.Sprintf("%064x", time.Now().UnixNano())})
			return err
		}},
		{"Create at the session limit", func(ctx context.Context, user int64, _, _ string) error {
			_, err := s.Create(ctx, sessionguard.NewSession{TokenHash: fmt.Sprintf("%064x", time.Now().UnixNano()), UserID: user,
				AppType: sessionguard.ControlPanel, Limit: sessionguard.SessionLimit{Max: 1}})
			return err
		}},
		{"SCSStore.DeleteCtx", func(ctx context.Context, _ int64, hash, _ string) error {
			key, ok := scsKey(hash)
			if !ok {
				return fmt.Errorf("no scs key for %s", hash)
			}
			return scs.DeleteCtx(ctx, key)
		}},
	} {
		t.Run(op.name, func(t *testing.T) {
			user := pgtest.CreateUser(t, pool, fmt.Sprintf("every-ending-%d@example.com", time.Now().UnixNano()), 0)
			hash := fmt.Sprintf("%064x", time.Now().UnixNano())
			info, err := s.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel})
			if err != nil {
				t.Fatal(err)
			}
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_token_hash = $1 FOR UPDATE", hash); err != nil {
				t.Fatal(err)
			}
			s.fence.unknownSince.Store(0)
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			if err := op.end(short, user, hash, info.ID); err == nil {
				t.Fatal("the operation behind a held row lock returned no error")
			}
			if s.fence.unknownSince.Load() == 0 {
				t.Error("an ending of unknown outcome left the replica unfenced")
			}
		})
	}
}
