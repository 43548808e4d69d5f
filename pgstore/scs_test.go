package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// The store satisfies every scs store interface, so scs uses the context
// variants and Iterate works.
var (
	_ scs.Store            = (*pgstore.SCSStore)(nil)
	_ scs.CtxStore         = (*pgstore.SCSStore)(nil)
	_ scs.IterableStore    = (*pgstore.SCSStore)(nil)
	_ scs.IterableCtxStore = (*pgstore.SCSStore)(nil)
)

// scsToken is one scs token as the store and the sessions table see it.
type scsToken struct {
	key  string // what scs hands the store with HashTokenInStore: base64url(SHA-256(token))
	hash string // sessions.session_token_hash: hex(SHA-256(token))
}

func newSCSToken(t *testing.T) scsToken {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(base64.RawURLEncoding.EncodeToString(raw)))
	return scsToken{key: base64.RawURLEncoding.EncodeToString(sum[:]), hash: hex.EncodeToString(sum[:])}
}

func newSCSStore(t *testing.T, f fixture) *pgstore.SCSStore {
	t.Helper()
	s, err := pgstore.NewSCSStore(f.store, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dataRows counts the rows of sessionguard_scs_data for hash, behind the
// store's back: 0 means nothing is left, whatever Find says.
func (f fixture) dataRows(t *testing.T, hash string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(),
		"SELECT count(*) FROM sessionguard_scs_data WHERE token_hash = $1", hash).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustCommit(t *testing.T, s *pgstore.SCSStore, key string, b []byte, expiry time.Time) {
	t.Helper()
	if err := s.CommitCtx(context.Background(), key, b, expiry); err != nil {
		t.Fatalf("CommitCtx: %v", err)
	}
}

func findOK(t *testing.T, s *pgstore.SCSStore, key string) ([]byte, bool) {
	t.Helper()
	b, found, err := s.FindCtx(context.Background(), key)
	if err != nil {
		t.Fatalf("FindCtx: %v", err)
	}
	return b, found
}

// The contract of scs's Store, as scs's own store tests check it.
func TestSCSStoreContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	later := time.Now().Add(time.Hour)

	t.Run("find", func(t *testing.T) {
		t.Parallel()
		s := newSCSStore(t, newFixture(t, pgstore.Config{}))
		tok := newSCSToken(t)
		mustCommit(t, s, tok.key, []byte("encoded_data"), later)
		b, found := findOK(t, s, tok.key)
		if !found || !bytes.Equal(b, []byte("encoded_data")) {
			t.Fatalf("Find = %q, %v; want encoded_data, true", b, found)
		}
	})

	t.Run("find missing or malformed", func(t *testing.T) {
		t.Parallel()
		s := newSCSStore(t, newFixture(t, pgstore.Config{}))
		for _, key := range []string{newSCSToken(t).key, "", "missing_session_token", newSCSToken(t).hash, newSCSToken(t).key + "="} {
			if b, found, err := s.FindCtx(ctx, key); err != nil || found || b != nil {
				t.Errorf("Find(%q) = %q, %v, %v; want nil, false, nil", key, b, found, err)
			}
		}
	})

	t.Run("commit stores under the hex hash", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, pgstore.Config{})
		s := newSCSStore(t, f)
		tok := newSCSToken(t)
		expiry := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		mustCommit(t, s, tok.key, []byte("encoded_data"), expiry)
		var data []byte
		var got time.Time
		if err := f.pool.QueryRow(ctx, "SELECT data, expiry FROM sessionguard_scs_data WHERE token_hash = $1",
			tok.hash).Scan(&data, &got); err != nil {
			t.Fatalf("row under the hex hash: %v", err)
		}
		if !bytes.Equal(data, []byte("encoded_data")) || !got.Equal(expiry) {
			t.Fatalf("row = %q, %v; want encoded_data, %v", data, got, expiry)
		}
	})

	t.Run("commit overwrites data and expiry", func(t *testing.T) {
		t.Parallel()
		s := newSCSStore(t, newFixture(t, pgstore.Config{}))
		tok := newSCSToken(t)
		mustCommit(t, s, tok.key, []byte("encoded_data"), later)
		mustCommit(t, s, tok.key, []byte("new_encoded_data"), later)
		if b, found := findOK(t, s, tok.key); !found || !bytes.Equal(b, []byte("new_encoded_data")) {
			t.Fatalf("Find after overwrite = %q, %v", b, found)
		}
		mustCommit(t, s, tok.key, []byte("new_encoded_data"), time.Now().Add(-time.Second))
		if _, found := findOK(t, s, tok.key); found {
			t.Fatal("Find after overwriting the expiry with a past time: found")
		}
	})

	t.Run("commit of empty data", func(t *testing.T) {
		t.Parallel()
		s := newSCSStore(t, newFixture(t, pgstore.Config{}))
		tok := newSCSToken(t)
		mustCommit(t, s, tok.key, nil, later)
		if b, found := findOK(t, s, tok.key); !found || len(b) != 0 {
			t.Fatalf("Find = %q, %v; want empty, true", b, found)
		}
	})

	t.Run("commit refuses a key that is not a hashed token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, pgstore.Config{})
		s := newSCSStore(t, f)
		for _, key := range []string{"session_token", "", newSCSToken(t).hash} {
			err := s.CommitCtx(ctx, key, []byte("x"), later)
			if !errors.Is(err, pgstore.ErrInvalidArgument) {
				t.Errorf("Commit(%q) = %v, want ErrInvalidArgument", key, err)
			}
		}
		var n int
		if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_scs_data").Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows after refused commits = %d, %v", n, err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, pgstore.Config{})
		s := newSCSStore(t, f)
		tok := newSCSToken(t)
		mustCommit(t, s, tok.key, []byte("encoded_data"), later)
		// The database's clock decides: move the expiry just behind it.
		if _, err := f.pool.Exec(ctx, "UPDATE sessionguard_scs_data SET expiry = CURRENT_TIMESTAMP - interval '1 millisecond'"); err != nil {
			t.Fatal(err)
		}
		if _, found := findOK(t, s, tok.key); found {
			t.Fatal("Find of an expired session: found")
		}
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, pgstore.Config{})
		s := newSCSStore(t, f)
		tok, other := newSCSToken(t), newSCSToken(t)
		mustCommit(t, s, tok.key, []byte("encoded_data"), later)
		mustCommit(t, s, other.key, []byte("other"), later)
		if err := s.DeleteCtx(ctx, tok.key); err != nil {
			t.Fatal(err)
		}
		if n := f.dataRows(t, tok.hash); n != 0 {
			t.Fatalf("rows after Delete = %d", n)
		}
		if _, found := findOK(t, s, other.key); !found {
			t.Fatal("Delete removed another session")
		}
	})

	t.Run("delete of unknown or malformed is a no-op", func(t *testing.T) {
		t.Parallel()
		s := newSCSStore(t, newFixture(t, pgstore.Config{}))
		for _, key := range []string{newSCSToken(t).key, "", "missing_session_token"} {
			if err := s.DeleteCtx(ctx, key); err != nil {
				t.Errorf("Delete(%q) = %v, want nil", key, err)
			}
		}
	})

	t.Run("all returns only live sessions", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, pgstore.Config{})
		s := newSCSStore(t, f)
		all, err := s.AllCtx(ctx)
		if err != nil || all == nil || len(all) != 0 {
			t.Fatalf("All on an empty store = %v, %v; want an empty non-nil map", all, err)
		}

		anon, signedIn, expired, revoked, idle := newSCSToken(t), newSCSToken(t), newSCSToken(t), newSCSToken(t), newSCSToken(t)
		for _, tok := range []scsToken{signedIn, revoked, idle} {
			f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
		}
		for _, tok := range []scsToken{anon, signedIn, expired, revoked, idle} {
			mustCommit(t, s, tok.key, []byte(tok.key), later)
		}
		mustCommit(t, s, expired.key, []byte("expired"), time.Now().Add(-time.Second))
		if _, err := f.store.Revoke(ctx, revoked.hash, sessionguard.ReasonAdminRevoke); err != nil {
			t.Fatal(err)
		}
		f.age(t, idle.hash, 5*time.Hour, 5*time.Hour) // past the idle timeout, not yet marked ended

		all, err = s.AllCtx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{anon.key, signedIn.key}
		if got := slices.Sorted(maps.Keys(all)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("All keys = %v, want %v", got, want)
		}
		for _, k := range want {
			if !bytes.Equal(all[k], []byte(k)) {
				t.Errorf("All[%s] = %q", k, all[k])
			}
		}
	})

	t.Run("methods without a context", func(t *testing.T) {
		t.Parallel()
		s := newSCSStore(t, newFixture(t, pgstore.Config{}))
		tok := newSCSToken(t)
		if err := s.Commit(tok.key, []byte("encoded_data"), later); err != nil {
			t.Fatal(err)
		}
		if b, found, err := s.Find(tok.key); err != nil || !found || string(b) != "encoded_data" {
			t.Fatalf("Find = %q, %v, %v", b, found, err)
		}
		if all, err := s.All(); err != nil || len(all) != 1 {
			t.Fatalf("All = %v, %v", all, err)
		}
		if err := s.Delete(tok.key); err != nil {
			t.Fatal(err)
		}
		if _, found, err := s.Find(tok.key); err != nil || found {
			t.Fatalf("Find after Delete = %v, %v", found, err)
		}
	})
}

func TestNewSCSStoreNeedsAStore(t *testing.T) {
	t.Parallel()
	if _, err := pgstore.NewSCSStore(nil, pgstore.SCSConfig{}); !errors.Is(err, pgstore.ErrInvalidArgument) {
		t.Fatalf("NewSCSStore(nil) = %v, want ErrInvalidArgument", err)
	}
}

// However a sessionguard session ends, its scs data goes with it, and Find
// says not found.
func TestSCSDataEndsWithTheSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name string
		end  func(t *testing.T, f fixture, hash string, info sessionguard.SessionInfo)
	}{
		{"Store.Revoke (logout)", func(t *testing.T, f fixture, hash string, _ sessionguard.SessionInfo) {
			mustEnd(t)(f.store.Revoke(ctx, hash, sessionguard.ReasonLogout))
		}},
		{"Store.RevokeSession (admin)", func(t *testing.T, f fixture, _ string, info sessionguard.SessionInfo) {
			mustEnd(t)(f.store.RevokeSession(ctx, info.ID, sessionguard.ReasonAdminRevoke))
		}},
		{"Store.RevokeUserSession", func(t *testing.T, f fixture, _ string, info sessionguard.SessionInfo) {
			mustEnd(t)(f.store.RevokeUserSession(ctx, f.user, info.ID, sessionguard.ReasonLogout))
		}},
		{"Store.RevokeAll (password change)", func(t *testing.T, f fixture, _ string, _ sessionguard.SessionInfo) {
			n, err := f.store.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange)
			mustEnd(t)(n == 1, err)
		}},
		{"seed revoke_session called directly", func(t *testing.T, f fixture, hash string, _ sessionguard.SessionInfo) {
			mustExec(t, f, "SELECT revoke_session($1)", hash)
		}},
		{"seed revoke_all_user_sessions called directly", func(t *testing.T, f fixture, _ string, _ sessionguard.SessionInfo) {
			mustExec(t, f, "SELECT revoke_all_user_sessions($1)", f.user)
		}},
		{"seed cleanup_expired_sessions after the idle timeout", func(t *testing.T, f fixture, hash string, _ sessionguard.SessionInfo) {
			f.age(t, hash, 5*time.Hour, 5*time.Hour)
			mustExec(t, f, "SELECT cleanup_expired_sessions()")
		}},
		{"seed get_session_status finds it past the absolute timeout", func(t *testing.T, f fixture, hash string, _ sessionguard.SessionInfo) {
			f.age(t, hash, 0, 9*time.Hour)
			mustExec(t, f, "SELECT * FROM get_session_status($1)", hash)
		}},
		{"Store.Validate finds it past the idle timeout", func(t *testing.T, f fixture, hash string, _ sessionguard.SessionInfo) {
			f.age(t, hash, 5*time.Hour, 5*time.Hour)
			st, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
			mustEnd(t)(st.State == sessionguard.StateIdle, err)
		}},
		{"Store.Cleanup", func(t *testing.T, f fixture, hash string, _ sessionguard.SessionInfo) {
			f.age(t, hash, 0, 9*time.Hour)
			n, err := f.store.Cleanup(ctx)
			mustEnd(t)(n == 1, err)
		}},
		{"row deleted", func(t *testing.T, f fixture, hash string, _ sessionguard.SessionInfo) {
			mustExec(t, f, "DELETE FROM sessions WHERE session_token_hash = $1", hash)
		}},
		{"user deleted (cascade)", func(t *testing.T, f fixture, _ string, _ sessionguard.SessionInfo) {
			mustExec(t, f, "DELETE FROM users WHERE id = $1", f.user)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, pgstore.Config{})
			s := newSCSStore(t, f)
			tok, bystander := newSCSToken(t), newSCSToken(t)
			_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
			mustCommit(t, s, tok.key, []byte("flash: hello"), time.Now().Add(time.Hour))
			mustCommit(t, s, bystander.key, []byte("anonymous"), time.Now().Add(time.Hour))
			if _, found := findOK(t, s, tok.key); !found {
				t.Fatal("Find before the end: not found")
			}

			tc.end(t, f, tok.hash, info)

			if _, found := findOK(t, s, tok.key); found {
				t.Error("Find after the session ended: found")
			}
			if n := f.dataRows(t, tok.hash); n != 0 {
				t.Errorf("data rows after the session ended = %d, want 0", n)
			}
			if _, found := findOK(t, s, bystander.key); !found {
				t.Error("an anonymous session's data went too")
			}
		})
	}
}

// mustEnd checks the result of a call that ends a session:
// mustEnd(t)(store.Revoke(…)).
func mustEnd(t *testing.T) func(ended bool, err error) {
	return func(ended bool, err error) {
		t.Helper()
		if err != nil || !ended {
			t.Fatalf("ending the session = %v, %v", ended, err)
		}
	}
}

func mustExec(t *testing.T, f fixture, sql string, args ...any) {
	t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestSCSDataFollowsALiveSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: -1}) // every Validate writes
	s := newSCSStore(t, f)
	tok := newSCSToken(t)
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
	mustCommit(t, s, tok.key, []byte("v1"), time.Now().Add(time.Hour))

	// Touches do not end the session, so they leave the data alone.
	for range 3 {
		if st, err := f.store.Validate(ctx, tok.hash, sessionguard.Scope{}); err != nil || !st.Valid() {
			t.Fatalf("Validate = %v, %v", st.State, err)
		}
	}
	if b, found := findOK(t, s, tok.key); !found || string(b) != "v1" {
		t.Fatalf("Find after touches = %q, %v", b, found)
	}

	// Past the idle timeout, before anyone marks it: Find says not found at
	// once, and the row goes when the session is marked ended.
	f.age(t, tok.hash, 5*time.Hour, 5*time.Hour)
	if _, found := findOK(t, s, tok.key); found {
		t.Fatal("Find past the idle timeout: found")
	}
	if n, err := f.store.Cleanup(ctx); err != nil || n != 1 {
		t.Fatalf("Cleanup = %d, %v", n, err)
	}
	if n := f.dataRows(t, tok.hash); n != 0 {
		t.Fatalf("data rows after Cleanup = %d", n)
	}
}

// A request that was in flight when its session was revoked must not write
// the data back.
func TestSCSCommitAfterTheSessionEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	tok := newSCSToken(t)
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
	mustCommit(t, s, tok.key, []byte("before"), time.Now().Add(time.Hour))
	if _, err := f.store.Revoke(ctx, tok.hash, sessionguard.ReasonAdminRevoke); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, tok.key, []byte("after"), time.Now().Add(time.Hour))
	if n := f.dataRows(t, tok.hash); n != 0 {
		t.Fatalf("data rows after a commit on a revoked session = %d, want 0", n)
	}
}

// Commits racing a revocation never leave a data row behind.
func TestSCSCommitRacingRevocation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	const rounds = 20
	for i := range rounds {
		tok := newSCSToken(t)
		f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
		mustCommit(t, s, tok.key, []byte("start"), time.Now().Add(time.Hour))

		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					if err := s.CommitCtx(ctx, tok.key, []byte("in flight"), time.Now().Add(time.Hour)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.store.Revoke(ctx, tok.hash, sessionguard.ReasonAdminRevoke); err != nil {
				errs <- err
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", i, err)
		}
		if n := f.dataRows(t, tok.hash); n != 0 {
			t.Fatalf("round %d: %d data rows left behind a revoked session", i, n)
		}
	}
}

func TestSCSDeleteEndsTheSessionToo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	tok, other := newSCSToken(t), newSCSToken(t)
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = other.hash })
	mustCommit(t, s, tok.key, []byte("data"), time.Now().Add(time.Hour))

	if err := s.DeleteCtx(ctx, tok.key); err != nil {
		t.Fatal(err)
	}
	if r := f.row(t, tok.hash); r.Active || r.reason() != sessionguard.ReasonLogout || !r.Ended {
		t.Fatalf("session after scs Delete: %+v %q; want ended with logout", r, r.reason())
	}
	if !f.row(t, other.hash).Active {
		t.Fatal("Delete ended another session")
	}
	// A second Delete changes nothing, not even the reason.
	if _, err := f.store.Revoke(ctx, other.hash, sessionguard.ReasonAdminRevoke); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCtx(ctx, other.key); err != nil {
		t.Fatal(err)
	}
	if r := f.row(t, other.hash); r.reason() != sessionguard.ReasonAdminRevoke {
		t.Fatalf("Delete overwrote the reason of an ended session: %q", r.reason())
	}
}

func TestSCSDeleteExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	live := newSCSToken(t)
	mustCommit(t, s, live.key, []byte("live"), time.Now().Add(time.Hour))
	// More expired rows than one cleanup batch.
	const expired = 2500
	mustExec(t, f, `INSERT INTO sessionguard_scs_data (token_hash, data, expiry)
		SELECT encode(sha256(i::text::bytea), 'hex'), '\x00', CURRENT_TIMESTAMP - interval '1 second'
		FROM generate_series(1, $1) AS i`, expired)

	n, err := s.DeleteExpired(ctx)
	if err != nil || n != expired {
		t.Fatalf("DeleteExpired = %d, %v; want %d", n, err, expired)
	}
	if _, found := findOK(t, s, live.key); !found {
		t.Fatal("DeleteExpired removed a live session")
	}
	if n, err := s.DeleteExpired(ctx); err != nil || n != 0 {
		t.Fatalf("second DeleteExpired = %d, %v; want 0", n, err)
	}
}

func TestSCSRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)

	t.Run("interval 0 disables it", func(t *testing.T) {
		done := make(chan error)
		go func() { done <- s.Run(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run with CleanupInterval 0 = %v, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run with CleanupInterval 0 did not return")
		}
	})

	t.Run("a negative interval is refused", func(t *testing.T) {
		if _, err := pgstore.NewSCSStore(f.store, pgstore.SCSConfig{CleanupInterval: -time.Second}); !errors.Is(err, pgstore.ErrInvalidArgument) {
			t.Fatalf("NewSCSStore = %v, want ErrInvalidArgument", err)
		}
	})

	t.Run("runs until the context ends", func(t *testing.T) {
		tok := newSCSToken(t)
		mustCommit(t, s, tok.key, []byte("x"), time.Now().Add(-time.Second))
		s, err := pgstore.NewSCSStore(f.store, pgstore.SCSConfig{CleanupInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()

		deadline := time.Now().Add(30 * time.Second)
		for f.dataRows(t, tok.hash) != 0 {
			if time.Now().After(deadline) {
				cancel()
				t.Fatal("Run did not delete an expired row within 30s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want the context's error", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	})
}

// With HashTokenInStore, scs hands the store a key whose row lands on the
// token's hex SHA-256, the hash the sessions table uses.
func TestSCSStoreUnderASessionManager(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	sm := scs.New()
	sm.Store = newSCSStore(t, f)
	sm.HashTokenInStore = true

	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(ctx, "greeting", "hello")
	token, _, err := sm.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	if n := f.dataRows(t, hex.EncodeToString(sum[:])); n != 1 {
		t.Fatalf("rows under hex(SHA-256(token)) = %d, want 1", n)
	}
	var leaked int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessionguard_scs_data
		WHERE position(convert_to($1, 'UTF8') IN data) > 0 OR token_hash = $1`, token).Scan(&leaked); err != nil || leaked != 0 {
		t.Fatalf("the token itself is in the table: %d rows, %v", leaked, err)
	}

	ctx2, err := sm.Load(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if got := sm.GetString(ctx2, "greeting"); got != "hello" {
		t.Fatalf("loaded greeting = %q", got)
	}
	var iterated int
	if err := sm.Iterate(context.Background(), func(ctx context.Context) error {
		if sm.GetString(ctx, "greeting") == "hello" {
			iterated++
		}
		return nil
	}); err != nil || iterated != 1 {
		t.Fatalf("Iterate saw %d sessions, %v", iterated, err)
	}
}

// Migrations 026 and 034 run twice without harm and without doubling their
// triggers.
func TestSCSMigrationIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	ran := 0
	for _, m := range schema.Migrations() {
		if m.Version == 26 || m.Version == 34 {
			mustExec(t, f, m.SQL)
			ran++
		}
	}
	if ran != 2 {
		t.Fatalf("%d of migrations 026 and 034 embedded", ran)
	}
	var triggers []string
	rows, err := f.pool.Query(ctx, `SELECT tgname FROM pg_trigger
		WHERE tgrelid IN ('sessions'::regclass, 'sessionguard_scs_data'::regclass)
		  AND tgname LIKE 'sessionguard_scs_data_%' ORDER BY tgname`)
	if err == nil {
		triggers, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatal(err)
	}
	// 026's two (033 replaced the delete trigger under its name) and 034's two.
	want := []string{"sessionguard_scs_data_on_session_delete", "sessionguard_scs_data_on_session_end",
		"sessionguard_scs_data_on_session_truncate", "sessionguard_scs_data_refuse_retired"}
	if !slices.Equal(triggers, want) {
		t.Fatalf("scs triggers after running 026 and 034 again: %v, want %v", triggers, want)
	}
}

// A session that scs ends (Delete: the app's Destroy or RenewToken) ends
// through the Store, as Revoke ends one: logged as an EventRevoked, and
// fenced from the Store's read replica. With the replica's replay paused,
// Delete returns nil with a warning (the end is done; scs stops at any error)
// and a Validate through the Store right after it is refused, although the
// replica still has the session live.
func TestSCSDeleteEndsThroughTheStore(t *testing.T) {
	t.Parallel()
	f := newReplicaFixture(t, 0)
	ctx := t.Context()
	var events []sessionguard.Event
	var mu sync.Mutex
	store, err := pgstore.New(f.pool, pgstore.Config{ReadPool: f.rs.StandbyPool, ReplayWait: 50 * time.Millisecond, ReplicaTimeout: testReplicaTimeout, Logger: quiet,
		OnEvent: func(e sessionguard.Event) { mu.Lock(); defer mu.Unlock(); events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tok := newSCSToken(t)
	_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
	mustCommit(t, s, tok.key, []byte("data"), time.Now().Add(time.Hour))
	f.waitReplayed(t)
	if st := mustValidate(t, store, tok.hash, sessionguard.Scope{}); st.State != sessionguard.StateValid || store.ReplicaStats().Served != 1 {
		t.Fatalf("before: %q, %+v; want valid from the replica", st.State, store.ReplicaStats())
	}
	if _, err := f.rs.StandbyPool.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = f.rs.StandbyPool.Exec(context.Background(), "SELECT pg_wal_replay_resume()") })

	// Done, so nil (scs's Destroy and RenewToken stop at any error), and a
	// warning naming no hash.
	if err := s.DeleteCtx(ctx, tok.key); err != nil {
		t.Errorf("Delete with the replica paused = %v; want nil, the session ended", err)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "read replica has not replayed") || strings.Contains(l, tok.hash) {
		t.Errorf("log %q; want one warning without the hash", l)
	}
	if active, _ := f.replicaActive(t, tok.hash); !active {
		t.Fatal("the replica replayed the end; the test proves nothing")
	}
	if st := mustValidate(t, store, tok.hash, sessionguard.Scope{}); st.State != sessionguard.StateRevoked || st.EndReason != sessionguard.ReasonLogout {
		t.Errorf("Validate right after Delete: %q (%q); want revoked (logout)", st.State, st.EndReason)
	}
	if n := f.dataRows(t, tok.hash); n != 0 {
		t.Errorf("%d data rows left after Delete", n)
	}
	mu.Lock()
	defer mu.Unlock()
	want := sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: sessionguard.ReasonLogout, Count: 1,
		SessionID: info.ID, UserID: f.user, AppType: sessionguard.ControlPanel}
	if len(events) != 1 || events[0] != want {
		t.Errorf("events = %+v; want [%+v]", events, want)
	}
}

// TestSCSCommitRacingATouch: a Commit that waited for a touch of its
// session's row (the touch commits while the Commit's FOR SHARE waits)
// stores the data, at every isolation level a pool's
// default_transaction_isolation may set. Under REPEATABLE READ and
// SERIALIZABLE, PostgreSQL fails the statement (40001), having changed
// nothing; before, Commit returned that error and scs failed the request.
func TestSCSCommitRacingATouch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	for _, isolation := range isolationLevels {
		t.Run(isolation, func(t *testing.T) {
			store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			scsStore, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
			if err != nil {
				t.Fatal(err)
			}
			hash, s := f.create(t, nil)
			sum, err := hex.DecodeString(hash)
			if err != nil {
				t.Fatal(err)
			}
			key := base64.RawURLEncoding.EncodeToString(sum)
			touch, err := f.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = touch.Rollback(ctx) }()
			if _, err := touch.Exec(ctx, "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP WHERE id = $1", s.ID); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- scsStore.CommitCtx(ctx, key, []byte("cart"), time.Now().Add(time.Hour)) }()
			waitForLockWaits(t, f, 1)
			if err := touch.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("Commit that waited for the touch: %v", err)
			}
			b, found, err := scsStore.FindCtx(ctx, key)
			if err != nil || !found || string(b) != "cart" {
				t.Fatalf("Find after the Commit = %q, %v, %v; want the data", b, found, err)
			}
		})
	}
}
