package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/pgstore"
)

// TestOwnReasonsUpToFiftyBytes backs the root package's doc of the Reason
// constants ("an application may record its own (at most 50 bytes)", the
// width of sessions.revoke_reason): every revocation of the Store records
// a reason of the application's own of 50 bytes, and refuses one of 51
// with ErrInvalidArgument before the database, the session left alive.
func TestOwnReasonsUpToFiftyBytes(t *testing.T) {
	t.Parallel()
	revocations := []struct {
		name   string
		revoke func(f fixture, hash, id, reason string) error
	}{
		{"Revoke", func(f fixture, hash, _, reason string) error {
			_, err := f.store.Revoke(context.Background(), hash, reason)
			return err
		}},
		{"RevokeSession", func(f fixture, _, id, reason string) error {
			_, err := f.store.RevokeSession(context.Background(), id, reason)
			return err
		}},
		{"RevokeUserSession", func(f fixture, _, id, reason string) error {
			_, err := f.store.RevokeUserSession(context.Background(), f.user, id, reason)
			return err
		}},
		{"RevokeAll", func(f fixture, _, _, reason string) error {
			_, err := f.store.RevokeAll(context.Background(), f.user, reason)
			return err
		}},
		{"RevokeAllExcept", func(f fixture, _, _, reason string) error {
			_, err := f.store.RevokeAllExcept(context.Background(), f.user, "7c0e3c6e-9a51-4b8e-8f55-3d0d1c2b4a60", reason)
			return err
		}},
		{"RevokeEveryone", func(f fixture, _, _, reason string) error {
			_, err := f.store.RevokeEveryone(context.Background(), reason)
			return err
		}},
	}
	for _, rv := range revocations {
		t.Run(rv.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, pgstore.Config{})
			hash, info := f.create(t, nil)
			tooLong := strings.Repeat("x", 51)
			if err := rv.revoke(f, hash, info.ID, tooLong); !isInvalid(err) {
				t.Fatalf("a reason of 51 bytes = %v, want ErrInvalidArgument", err)
			}
			if r := f.row(t, hash); !r.Active {
				t.Fatal("a refused reason ended the session")
			}
			own := "account_locked_by_fraud_review_" + strings.Repeat("y", 50-len("account_locked_by_fraud_review_"))
			if err := rv.revoke(f, hash, info.ID, own); err != nil {
				t.Fatalf("a reason of 50 bytes: %v", err)
			}
			if r := f.row(t, hash); r.Active || r.reason() != own {
				t.Fatalf("row after revoking with the application's own reason: active %v, reason %q", r.Active, r.reason())
			}
		})
	}
}
