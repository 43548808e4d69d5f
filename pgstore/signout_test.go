package pgstore_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// endState is the sessions row of id: active, and the reason it ended.
func endState(t *testing.T, f fixture, id string) (active bool, reason string) {
	t.Helper()
	var r *string
	if err := f.pool.QueryRow(context.Background(), "SELECT is_active, revoke_reason FROM sessions WHERE id = $1", id).Scan(&active, &r); err != nil {
		t.Fatal(err)
	}
	if r != nil {
		reason = *r
	}
	return active, reason
}

// TestSignOutFollowsARetiredToken: SignOut ends, with "logout", the session
// of its token, or the session a re-authentication rotated the token out
// of (after one rotation or several): a tab still holding the old token
// signs the user out. Before, it ended nothing and the session lived on
// under its new token. Nothing else a retired token reaches ends the
// session: Revoke and scs's Delete (RenewToken, Destroy) keep it alive.
func TestSignOutFollowsARetiredToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	scs := newSCSStore(t, f)
	tests := []struct {
		name      string
		rotations int
		signOut   func(t0 string) (bool, error) // with the first token
		wantEnded bool
	}{
		{"SignOut, the current token", 0, func(h string) (bool, error) { return f.store.SignOut(ctx, h) }, true},
		{"SignOut, rotated out once", 1, func(h string) (bool, error) { return f.store.SignOut(ctx, h) }, true},
		{"SignOut, rotated out twice", 2, func(h string) (bool, error) { return f.store.SignOut(ctx, h) }, true},
		{"Revoke, rotated out", 1, func(h string) (bool, error) { return f.store.Revoke(ctx, h, sessionguard.ReasonLogout) }, false},
		{"SCSStore.DeleteCtx, rotated out", 1, func(h string) (bool, error) {
			return false, scs.DeleteCtx(ctx, scsKeyOf(t, h))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0, s := f.create(t, nil)
			now := t0
			for range tt.rotations {
				next := newHash(t)
				rotate(t, f, s.ID, now, next)
				now = next
			}
			ended, err := tt.signOut(t0)
			if err != nil || ended != tt.wantEnded {
				t.Fatalf("= %v, %v; want %v", ended, err, tt.wantEnded)
			}
			st, err := f.store.Validate(ctx, now, sessionguard.Scope{})
			if err != nil {
				t.Fatal(err)
			}
			active, reason := endState(t, f, s.ID)
			if tt.wantEnded {
				if st.State != sessionguard.StateRevoked || st.EndReason != sessionguard.ReasonLogout || active || reason != sessionguard.ReasonLogout {
					t.Fatalf("the session's token now: %q (%q), row active %v reason %q; want revoked with logout", st.State, st.EndReason, active, reason)
				}
			} else if st.State != sessionguard.StateValid || !active {
				t.Fatalf("the session's token now: %q, row active %v; want it alive", st.State, active)
			}
			if st, err := f.store.Validate(ctx, t0, sessionguard.Scope{}); err != nil || tt.rotations > 0 && st.State != sessionguard.StateUnknown {
				t.Fatalf("the retired token: %q, %v; want unknown", st.State, err)
			}
		})
	}
	t.Run("a token no session ever had, an ended session", func(t *testing.T) {
		if ended, err := f.store.SignOut(ctx, newHash(t)); err != nil || ended {
			t.Fatalf("SignOut of an unknown hash = %v, %v", ended, err)
		}
		t0, s := f.create(t, nil)
		rotate(t, f, s.ID, t0, newHash(t))
		if ended, err := f.store.SignOut(ctx, t0); err != nil || !ended {
			t.Fatalf("first SignOut = %v, %v", ended, err)
		}
		if ended, err := f.store.SignOut(ctx, t0); err != nil || ended {
			t.Fatalf("second SignOut = %v, %v; want false", ended, err)
		}
		if _, err := f.store.SignOut(ctx, "not a hash"); err == nil {
			t.Fatal("SignOut of a malformed hash: no error")
		}
	})
}

// TestSignOutOfARetiredTokenReachesItsSessionOnly: what a retired token's
// sign-out can end is the one session it was rotated out of, for as long as
// that session lives. A password change that kept the session
// (RevokeAllExcept, after the re-authentication the change asked for)
// leaves it open to the pre-rotation token's sign-out. Once the session's
// row is gone (the Cleaner's purge, a DELETE), the retired hash goes with
// it, so a new session that reuses the id (NewSession.ID, such as an
// identity provider's session id) is not the old token's to end.
func TestSignOutOfARetiredTokenReachesItsSessionOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	t.Run("a password change kept the session", func(t *testing.T) {
		t0, s := f.create(t, nil)
		rotate(t, f, s.ID, t0, newHash(t))
		if _, err := f.store.RevokeAllExcept(ctx, f.user, s.ID, sessionguard.ReasonPasswordChange); err != nil {
			t.Fatal(err)
		}
		if ended, err := f.store.SignOut(ctx, t0); err != nil || !ended {
			t.Fatalf("SignOut by the pre-rotation token after the password change = %v, %v; want true", ended, err)
		}
	})
	t.Run("the id reused after the purge", func(t *testing.T) {
		t0, s := f.create(t, nil)
		t1 := newHash(t)
		rotate(t, f, s.ID, t0, t1)
		if ended, err := f.store.Revoke(ctx, t1, sessionguard.ReasonLogout); err != nil || !ended {
			t.Fatalf("Revoke = %v, %v", ended, err)
		}
		mustExec(t, f, "DELETE FROM sessions WHERE id = $1", s.ID)
		_, again := f.create(t, func(n *sessionguard.NewSession) { n.ID = s.ID })
		if ended, err := f.store.SignOut(ctx, t0); err != nil || ended {
			t.Fatalf("SignOut by the purged session's retired token = %v, %v; want false", ended, err)
		}
		if active, _ := endState(t, f, again.ID); !active {
			t.Fatal("the purged session's retired token ended the new session of its id")
		}
	})
}

// scsKeyOf is the key scs hands SCSStore for the token of hex hash.
func scsKeyOf(t *testing.T, hash string) string {
	t.Helper()
	sum, err := hex.DecodeString(hash)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// TestSignOutRacingTheRotation: a sign-out by the token a re-authentication
// is rotating out at that very moment (the rotation holds the row, the
// sign-out waits for it) ends the session under its new token. The row the
// sign-out waited for no longer has the hash when the rotation commits; the
// session is then found by the retired hash. Before, the sign-out ended
// nothing. So too when the sign-out by a retired token waits for another
// write of the row (the new token's touch, a second rotation), and at
// every isolation level a pool's default_transaction_isolation may set:
// under REPEATABLE READ and SERIALIZABLE, PostgreSQL fails an UPDATE whose
// row another transaction changed after its snapshot (40001), and the
// sign-out failed, leaving the session alive under its new token.
func TestSignOutRacingTheRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	tests := []struct {
		name  string
		write string // held open while the sign-out runs; $1 the id, $2 a new hash
	}{
		{"the rotation of the token", "UPDATE sessions SET session_token_hash = $2 WHERE id = $1"},
		{"a touch after the rotation", "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP WHERE id = $1 AND $2 <> ''"},
		{"a second rotation", "UPDATE sessions SET session_token_hash = $2 WHERE id = $1"},
	}
	for _, isolation := range isolationLevels {
		store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for i, tt := range tests {
			t.Run(isolation+", "+tt.name, func(t *testing.T) {
				t0, s := f.create(t, nil)
				if i > 0 { // the token retired already
					rotate(t, f, s.ID, t0, newHash(t))
				}
				tx, err := f.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				if _, err := tx.Exec(ctx, tt.write, s.ID, newHash(t)); err != nil {
					t.Fatal(err)
				}
				type result struct {
					ended bool
					err   error
				}
				done := make(chan result, 1)
				go func() {
					ended, err := store.SignOut(ctx, t0)
					done <- result{ended, err}
				}()
				waitForLockWaits(t, f, 1)
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				if r := <-done; r.err != nil || !r.ended {
					t.Fatalf("SignOut that waited for the write = %v, %v; want true", r.ended, r.err)
				}
				if active, reason := endState(t, f, s.ID); active || reason != sessionguard.ReasonLogout {
					t.Fatalf("session after the sign-out: active %v, reason %q", active, reason)
				}
			})
		}
	}
}

// TestCacheSignOutOfARetiredToken: signed out through one instance's Cache
// by the token a re-authentication retired, the session is refused under
// its new token by that instance at once and by another instance's Cache,
// which held it, as soon as the database's notification arrives.
func TestCacheSignOutOfARetiredToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	poolB, err := pgxpool.NewWithConfig(ctx, f.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(poolB.Close)
	storeB, err := pgstore.New(poolB, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := newCache(t, f.store, pgstore.CacheConfig{})
	b := newCache(t, storeB, pgstore.CacheConfig{})
	runCache(t, a)
	runCache(t, b)

	t0, s := f.create(t, nil)
	t1 := newHash(t)
	if _, ok, err := b.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: s.ID, OldTokenHash: t0, NewTokenHash: t1}); err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
	for _, c := range []*pgstore.Cache{a, b} {
		mustValidate(t, c, t1, sessionguard.Scope{})
		if _, wasHit := hit(t, c, t1); !wasHit {
			t.Fatal("a cache does not hold the session under its new token")
		}
	}
	if ended, err := a.SignOut(ctx, t0); err != nil || !ended {
		t.Fatalf("SignOut by the retired token = %v, %v", ended, err)
	}
	if st := mustValidate(t, a, t1, sessionguard.Scope{}); st.State != sessionguard.StateRevoked {
		t.Fatalf("the signing-out instance answers %q right after SignOut", st.State)
	}
	eventually(t, "the other instance refuses the session", func() bool {
		return mustValidate(t, b, t1, sessionguard.Scope{}).State == sessionguard.StateRevoked
	})
}

// TestSignOutStatements: a sign-out by a token no session has had (a
// flood of sign-outs with random tokens, open to anyone) is one statement,
// as a sign-out by the current token and by an ended session's token are;
// only a token a re-authentication retired costs the second statement that
// finds its session. Before, every sign-out that ended nothing by the
// current hash sent the second statement.
func TestSignOutStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	cfg := f.pool.Config()
	counter := &roundTripCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		token      func(t *testing.T) string
		ended      bool
		statements int64
	}{
		{"a token no session has had", func(t *testing.T) string { return newHash(t) }, false, 1},
		{"the current token", func(t *testing.T) string { t0, _ := f.create(t, nil); return t0 }, true, 1},
		{"an ended session's token", func(t *testing.T) string {
			t0, _ := f.create(t, nil)
			if ended, err := f.store.Revoke(ctx, t0, sessionguard.ReasonLogout); err != nil || !ended {
				t.Fatalf("Revoke = %v, %v", ended, err)
			}
			return t0
		}, false, 1},
		{"a retired token", func(t *testing.T) string {
			t0, s := f.create(t, nil)
			rotate(t, f, s.ID, t0, newHash(t))
			return t0
		}, true, 2},
		{"a retired token of an ended session", func(t *testing.T) string {
			t0, s := f.create(t, nil)
			t1 := newHash(t)
			rotate(t, f, s.ID, t0, t1)
			if ended, err := f.store.Revoke(ctx, t1, sessionguard.ReasonLogout); err != nil || !ended {
				t.Fatalf("Revoke = %v, %v", ended, err)
			}
			return t0
		}, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token(t)
			before := counter.n.Load()
			ended, err := store.SignOut(ctx, token)
			if err != nil || ended != tt.ended {
				t.Fatalf("SignOut = %v, %v; want %v", ended, err, tt.ended)
			}
			if n := counter.n.Load() - before; n != tt.statements {
				t.Fatalf("SignOut sent %d statements, want %d", n, tt.statements)
			}
		})
	}
}

// TestSignOutBehindPgBouncer: SignOut's two statements are each their own
// transaction and rely on no server session state, so behind PgBouncer in
// transaction pooling, in the modes README's "Behind PgBouncer" allows, a
// sign-out by the current token, by a retired one and by an unknown one
// answers as straight to PostgreSQL.
func TestSignOutBehindPgBouncer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			f, bc := newBouncedFixture(t, pgstore.Config{Logger: quiet})
			cfg, err := pgxpool.ParseConfig(bc.ConnString)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ConnConfig.DefaultQueryExecMode = mode
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			store, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			current, _ := f.create(t, nil)
			retired, s := f.create(t, nil)
			rotate(t, f, s.ID, retired, newHash(t))
			for _, tt := range []struct {
				name  string
				hash  string
				ended bool
			}{{"current", current, true}, {"retired", retired, true}, {"unknown", newHash(t), false}, {"current again", current, false}} {
				if ended, err := store.SignOut(ctx, tt.hash); err != nil || ended != tt.ended {
					t.Errorf("SignOut by the %s token = %v, %v; want %v", tt.name, ended, err, tt.ended)
				}
			}
		})
	}
}
