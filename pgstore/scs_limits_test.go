package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// With HashTokenInStore, scs's Iterate hands fn sessions whose token is the
// store's key, and scs hashes it again before it calls the store: a Destroy
// (or RenewToken) inside Iterate, scs's way to sign a user out everywhere,
// deletes nothing and returns nil. Store.RevokeAll is the way: it ends the
// sessions, and Iterate and Find no longer see their data. If scs changes
// Iterate, the first half fails, and the SCSStore's doc and the README's scs
// table must change with it.
func TestSCSIterateCannotEndASession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{Logger: quiet})
	sm := scs.New()
	sm.Store = newSCSStore(t, f)
	sm.HashTokenInStore = true

	// A signed-in scs session: its token's hash is a live sessions row.
	sctx, err := sm.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(sctx, "userID", int(f.user))
	token, _, err := sm.Commit(sctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	hash := hex.EncodeToString(sum[:])
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = hash })

	destroyed := 0
	if err := sm.Iterate(ctx, func(ctx context.Context) error {
		if sm.GetInt(ctx, "userID") != int(f.user) {
			return nil
		}
		destroyed++
		return sm.Destroy(ctx)
	}); err != nil || destroyed != 1 {
		t.Fatalf("Iterate destroyed %d sessions, %v; want 1, nil", destroyed, err)
	}
	if st := mustValidate(t, f.store, hash, sessionguard.Scope{}); st.State != sessionguard.StateValid {
		t.Fatalf("session after Destroy inside Iterate: %q; scs's Iterate now reaches the store, update the docs", st.State)
	}
	if n := f.dataRows(t, hash); n != 1 {
		t.Fatalf("data rows after Destroy inside Iterate = %d; scs's Iterate now reaches the store, update the docs", n)
	}

	if n, err := f.store.RevokeAll(ctx, f.user, sessionguard.ReasonAdminRevoke); err != nil || n != 1 {
		t.Fatalf("RevokeAll = %d, %v", n, err)
	}
	seen := 0
	if err := sm.Iterate(ctx, func(context.Context) error { seen++; return nil }); err != nil || seen != 0 {
		t.Fatalf("Iterate after RevokeAll saw %d sessions, %v; want none", seen, err)
	}
	lctx, err := sm.Load(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if got := sm.GetInt(lctx, "userID"); got != 0 || sm.Token(lctx) != "" {
		t.Fatalf("Load after RevokeAll found the data (userID %d): want a new empty session", got)
	}
}

// The store tells an anonymous scs session's data from a signed-in one's by
// the sessions row of its hash. Where that row is gone, or never had the
// hash, the data is an anonymous session's: a late Commit (a request that
// loaded the data before) stores it again, and TRUNCATE, which fires no
// DELETE trigger, leaves it. The token never signs in all the same. Closing
// these needs a tombstone the store can read (a migration); until then this
// test holds the SCSStore's doc to what happens.
func TestSCSDataWithoutASessionsRow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		gone func(t *testing.T, f fixture, tok scsToken, id string)
		late bool // a request that loaded the data commits after gone
	}{
		{"token rotated out by a re-authentication", func(t *testing.T, f fixture, tok scsToken, id string) {
			_, ok, err := f.store.Reauthenticate(context.Background(), sessionguard.Reauthentication{
				SessionID: id, OldTokenHash: tok.hash, NewTokenHash: newHash(t)})
			if err != nil || !ok {
				t.Fatalf("Reauthenticate = %v, %v", ok, err)
			}
		}, true},
		{"user deleted with their sessions", func(t *testing.T, f fixture, _ scsToken, _ string) {
			mustExec(t, f, `DELETE FROM users WHERE id = $1`, f.user)
		}, true},
		{"sessions truncated", func(t *testing.T, f fixture, _ scsToken, _ string) {
			mustExec(t, f, `TRUNCATE sessions`)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, pgstore.Config{})
			s := newSCSStore(t, f)
			tok := newSCSToken(t)
			_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
			mustCommit(t, s, tok.key, []byte("signed in"), time.Now().Add(time.Hour))

			tc.gone(t, f, tok, info.ID)
			want := "signed in"
			if tc.late {
				if n := f.dataRows(t, tok.hash); n != 0 {
					t.Fatalf("%d data rows right after the sessions row let go of the hash, want 0", n)
				}
				want = "late"
				mustCommit(t, s, tok.key, []byte(want), time.Now().Add(time.Hour))
			}
			if b, found := findOK(t, s, tok.key); !found || string(b) != want {
				t.Fatalf("Find = %q, %v; want %q as an anonymous session's (if this changed, update the SCSStore's doc)", b, found, want)
			}
			if st := mustValidate(t, f.store, tok.hash, sessionguard.Scope{}); st.State != sessionguard.StateUnknown {
				t.Fatalf("Validate of the token = %q, want unknown: it must never sign in", st.State)
			}
		})
	}
}
