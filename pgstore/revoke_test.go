package pgstore_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

func isInvalid(err error) bool { return errors.Is(err, pgstore.ErrInvalidArgument) }

func TestRevokeOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	hash, _ := f.create(t, nil)

	ok, err := f.store.Revoke(ctx, hash, sessionguard.ReasonLogout)
	if err != nil || !ok {
		t.Fatalf("Revoke = %v, %v", ok, err)
	}
	if r := f.row(t, hash); r.Active || r.reason() != "logout" || !r.Ended {
		t.Fatalf("row after logout: %+v %q", r, r.reason())
	}
	// A second revoke finds nothing to end and does not overwrite the reason.
	ok, err = f.store.Revoke(ctx, hash, sessionguard.ReasonAdminRevoke)
	if err != nil || ok {
		t.Fatalf("second Revoke = %v, %v; want false, nil", ok, err)
	}
	if r := f.row(t, hash); r.reason() != "logout" {
		t.Fatalf("second revoke overwrote the reason: %q", r.reason())
	}
	if ok, err := f.store.Revoke(ctx, newHash(t), sessionguard.ReasonLogout); err != nil || ok {
		t.Fatalf("Revoke of unknown hash = %v, %v; want false, nil", ok, err)
	}
	if _, err := f.store.Revoke(ctx, hash, ""); !isInvalid(err) {
		t.Fatalf("empty reason = %v, want ErrInvalidArgument", err)
	}
}

func TestRevokeByIDChecksTheOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	mallory := pgtest.CreateUser(t, f.pool, "mallory@example.com", 0)
	hash, info := f.create(t, nil)

	if ok, err := f.store.RevokeUserSession(ctx, mallory, info.ID, sessionguard.ReasonLogout); err != nil || ok {
		t.Fatalf("another user's revoke = %v, %v; want false, nil", ok, err)
	}
	if !f.row(t, hash).Active {
		t.Fatal("another user ended the session")
	}
	if ok, err := f.store.RevokeUserSession(ctx, f.user, "not-a-uuid", sessionguard.ReasonLogout); err != nil || ok {
		t.Fatalf("malformed id = %v, %v; want false, nil", ok, err)
	}
	if ok, err := f.store.RevokeUserSession(ctx, f.user, info.ID, sessionguard.ReasonLogout); err != nil || !ok {
		t.Fatalf("owner's revoke = %v, %v", ok, err)
	}

	other, otherInfo := f.create(t, nil)
	if ok, err := f.store.RevokeSession(ctx, otherInfo.ID, sessionguard.ReasonAdminRevoke); err != nil || !ok {
		t.Fatalf("admin revoke = %v, %v", ok, err)
	}
	if r := f.row(t, other); r.Active || r.reason() != "admin_revoke" {
		t.Fatalf("row after admin revoke: %+v %q", r, r.reason())
	}
}

func TestRevokeAllAndAllButOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	bystander := pgtest.CreateUser(t, f.pool, "bob@example.com", 0)
	keep, keepInfo := f.create(t, nil)
	a, _ := f.create(t, nil)
	b, _ := f.create(t, nil)
	theirs, _ := f.create(t, func(n *sessionguard.NewSession) { n.UserID = bystander })
	alreadyOut, _ := f.create(t, nil)
	mustRevoke(t, f, alreadyOut, sessionguard.ReasonLogout)

	n, err := f.store.RevokeAllExcept(ctx, f.user, keepInfo.ID, sessionguard.ReasonPasswordChange)
	if err != nil || n != 2 {
		t.Fatalf("RevokeAllExcept = %d, %v; want 2", n, err)
	}
	for _, h := range []string{a, b} {
		if r := f.row(t, h); r.Active || r.reason() != "password_change" || !r.Ended {
			t.Fatalf("revoked row: %+v %q", r, r.reason())
		}
	}
	if !f.row(t, keep).Active || !f.row(t, theirs).Active {
		t.Fatal("RevokeAllExcept ended the kept session or another user's")
	}
	if r := f.row(t, alreadyOut); r.reason() != "logout" {
		t.Fatalf("an ended session's reason was overwritten: %q", r.reason())
	}

	n, err = f.store.RevokeAll(ctx, f.user, "account_disabled")
	if err != nil || n != 1 {
		t.Fatalf("RevokeAll = %d, %v; want 1", n, err)
	}
	if r := f.row(t, keep); r.Active || r.reason() != "account_disabled" {
		t.Fatalf("kept row after RevokeAll: %+v %q", r, r.reason())
	}
	if !f.row(t, theirs).Active {
		t.Fatal("RevokeAll ended another user's session")
	}
}

func TestListActive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	older, olderInfo := f.create(t, func(n *sessionguard.NewSession) { n.IP = "::ffff:198.51.100.7"; n.UserAgent = "Firefox" })
	_, newerInfo := f.create(t, func(n *sessionguard.NewSession) {
		n.AppType = sessionguard.TenantApp
		n.TenantID = f.tenant
		n.IP = "2001:db8::1"
	})
	f.age(t, older, time.Hour, time.Hour)
	ended, _ := f.create(t, nil)
	mustRevoke(t, f, ended, sessionguard.ReasonLogout)
	idle, _ := f.create(t, nil)
	f.age(t, idle, 5*time.Hour, 5*time.Hour) // expired, not yet recorded: not listed
	pgtest.CreateUser(t, f.pool, "someone@example.com", 0)

	list, err := f.store.ListActive(ctx, f.user)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != newerInfo.ID || list[1].ID != olderInfo.ID {
		t.Fatalf("ListActive = %+v, want the newer then the older session", list)
	}
	if got := list[1]; got.IP != "198.51.100.7" || got.UserAgent != "Firefox" || got.AppType != sessionguard.ControlPanel || got.TenantID != sessionguard.NoTenant {
		t.Fatalf("older session listed as %+v", got)
	}
	if got := list[0]; got.IP != "2001:db8::1" || got.AppType != sessionguard.TenantApp || got.TenantID != f.tenant {
		t.Fatalf("newer session listed as %+v", got)
	}
	all, err := f.store.ListAllActive(ctx, 0)
	if err != nil || len(all) != 2 {
		t.Fatalf("ListAllActive = %d rows, %v", len(all), err)
	}
}

func TestCleanupRecordsWhySessionsEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	live, _ := f.create(t, nil)
	idle, _ := f.create(t, nil)
	absolute, _ := f.create(t, nil)
	f.age(t, idle, 4*time.Hour+time.Minute, 5*time.Hour)
	f.age(t, absolute, time.Minute, 8*time.Hour+time.Minute)

	n, err := f.store.Cleanup(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Cleanup = %d, %v; want 2", n, err)
	}
	for hash, want := range map[string]string{idle: "idle_timeout", absolute: "absolute_timeout"} {
		if r := f.row(t, hash); r.Active || r.reason() != want || !r.Ended {
			t.Fatalf("after cleanup: %+v %q, want %q", r, r.reason(), want)
		}
	}
	if !f.row(t, live).Active {
		t.Fatal("cleanup ended a live session")
	}
}

// A touch must never bring a revoked session back, also when the revoke and
// the touches race. Every Validate after Revoke returned must refuse.
func TestTouchNeverRevivesUnderConcurrentRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: -1}) // touch on every call: the most writes to race

	for round := range 10 {
		hash, _ := f.create(t, nil)
		var (
			wg      sync.WaitGroup
			revoked = make(chan struct{})
			stop    = make(chan struct{})
			errs    = make(chan error, 64)
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					afterRevoke := false
					select {
					case <-revoked:
						afterRevoke = true
					default:
					}
					st, err := f.store.Validate(ctx, hash, sessionguard.Scope{})
					if err != nil {
						errs <- err
						return
					}
					if afterRevoke && st.Valid() {
						errs <- errors.New("a Validate that started after the revoke returned passed")
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(round) * time.Millisecond)
		if ok, err := f.store.Revoke(ctx, hash, sessionguard.ReasonAdminRevoke); err != nil || !ok {
			t.Fatalf("Revoke = %v, %v", ok, err)
		}
		close(revoked)
		time.Sleep(5 * time.Millisecond)
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if r := f.row(t, hash); r.Active || r.reason() != "admin_revoke" {
			t.Fatalf("round %d: row after the race: %+v %q", round, r, r.reason())
		}
	}
}

func TestRevokeEveryone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	other := pgtest.CreateUser(t, f.pool, "carol@example.com", 0)
	mine, _ := f.create(t, nil)
	theirs, _ := f.create(t, func(n *sessionguard.NewSession) { n.UserID = other })
	ended, _ := f.create(t, nil)
	mustRevoke(t, f, ended, sessionguard.ReasonLogout)

	n, err := f.store.RevokeEveryone(ctx, sessionguard.ReasonAdminRevoke)
	if err != nil || n != 2 {
		t.Fatalf("RevokeEveryone = %d, %v; want 2", n, err)
	}
	for _, h := range []string{mine, theirs} {
		if r := f.row(t, h); r.Active || r.reason() != "admin_revoke" || !r.Ended {
			t.Fatalf("after RevokeEveryone: %+v %q", r, r.reason())
		}
	}
	if r := f.row(t, ended); r.reason() != "logout" {
		t.Fatalf("an ended session's reason was overwritten: %q", r.reason())
	}
	if _, err := f.store.RevokeEveryone(ctx, ""); !isInvalid(err) {
		t.Fatalf("empty reason = %v", err)
	}
}

// A statement that ends several sessions of a user never meets the touch
// batch in a deadlock: it locks its rows in the batch's order (token hash),
// or retries when it cannot (Cleanup, the seed's cleanup_expired_sessions).
//
// The interleaving is forced. Sessions lo < hi (by hash) are stored hi
// first and with the lower id, so a plan that reads the table in its
// physical order or in id order locks hi before lo. A transaction holds lo; a touch batch of both then waits for
// lo; the ending statement starts. Taking the rows as the table gives them,
// it locks hi and queues for lo behind the batch; when the transaction ends,
// the batch locks lo and waits for hi: a cycle. The ending statement's
// connection checks for deadlocks after 100 ms and the batch's after 30 s,
// so a cycle fails the ending statement, with 40P01. Taking lo first, the
// ending statement holds nothing while it waits, and no cycle forms.
func TestMultiRowEndsNeverDeadlockWithTouchBatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare readies the sessions lo and hi for end.
		prepare func(t *testing.T, f fixture, lo, hi string)
		// end ends lo and hi and reports how many sessions it ended.
		end func(ctx context.Context, s *pgstore.Store, f fixture, lo, hi string) (int, error)
		// ended is how many sessions end must report; -1: any (the batch
		// may have ended them first).
		ended int
	}{
		{"RevokeAll", nil, func(ctx context.Context, s *pgstore.Store, f fixture, _, _ string) (int, error) {
			return s.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange)
		}, 2},
		{"RevokeAllExcept", nil, func(ctx context.Context, s *pgstore.Store, f fixture, _, _ string) (int, error) {
			_, keep := f.create(t, nil)
			return s.RevokeAllExcept(ctx, f.user, keep.ID, sessionguard.ReasonPasswordChange)
		}, 2},
		{"RevokeEveryone", nil, func(ctx context.Context, s *pgstore.Store, _ fixture, _, _ string) (int, error) {
			return s.RevokeEveryone(ctx, sessionguard.ReasonAdminRevoke)
		}, 2},
		{"Create at the session limit", nil, func(ctx context.Context, s *pgstore.Store, f fixture, _, _ string) (int, error) {
			_, err := s.Create(ctx, sessionguard.NewSession{TokenHash: newHash(t), UserID: f.user,
				AppType: sessionguard.ControlPanel, Limit: sessionguard.SessionLimit{Max: 1}})
			return 2, err
		}, 2},
		{"Cleanup", func(t *testing.T, f fixture, lo, hi string) {
			f.age(t, hi, 5*time.Hour, 0) // hi's new row version first, as in setup
			f.age(t, lo, 5*time.Hour, 0)
		}, func(ctx context.Context, s *pgstore.Store, _ fixture, _, _ string) (int, error) {
			return s.Cleanup(ctx)
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			f := newFixture(t, pgstore.Config{})
			batcher := storeWithDeadlockTimeout(t, f, "30s")
			ender := storeWithDeadlockTimeout(t, f, "100ms")
			lo, hi := newHash(t), newHash(t)
			if hi < lo {
				lo, hi = hi, lo
			}
			// hi first in the table's physical order and in id order too.
			f.create(t, func(n *sessionguard.NewSession) { n.TokenHash, n.ID = hi, "00000000-0000-4000-8000-000000000001" })
			f.create(t, func(n *sessionguard.NewSession) { n.TokenHash, n.ID = lo, "00000000-0000-4000-8000-000000000002" })
			f.age(t, hi, 2*time.Minute, 0) // due for a touch; lo least recently active
			f.age(t, lo, 3*time.Minute, 0)
			if tt.prepare != nil {
				tt.prepare(t, f, lo, hi)
			}

			tx, err := f.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_token_hash = $1 FOR UPDATE", lo); err != nil {
				t.Fatal(err)
			}
			batchErr := make(chan error, 1)
			go func() {
				_, err := pgstore.TouchBatch(ctx, batcher, []string{lo, hi}, make([]sessionguard.Scope, 2))
				batchErr <- err
			}()
			waitForLockWaits(t, f, 1)
			type result struct {
				n   int
				err error
			}
			ended := make(chan result, 1)
			go func() {
				n, err := tt.end(ctx, ender, f, lo, hi)
				ended <- result{n, err}
			}()
			waitForLockWaits(t, f, 2)
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-batchErr; err != nil {
				t.Fatalf("touch batch: %v", err)
			}
			r := <-ended
			if r.err != nil || (tt.ended >= 0 && r.n != tt.ended) {
				t.Fatalf("%s = %d, %v; want %d ended", tt.name, r.n, r.err, tt.ended)
			}
			for _, h := range []string{lo, hi} {
				if f.row(t, h).Active {
					t.Fatalf("a session is still active after %s", tt.name)
				}
			}
		})
	}
}

// storeWithDeadlockTimeout is a Store on f's database whose connections
// check for deadlocks after timeout.
func storeWithDeadlockTimeout(t *testing.T, f fixture, timeout string) *pgstore.Store {
	t.Helper()
	cfg := f.pool.Config().Copy()
	cfg.ConnConfig.RuntimeParams["deadlock_timeout"] = timeout
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitForLockWaits waits until n backends of f's database wait for a lock.
func waitForLockWaits(t *testing.T, f fixture, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		var waiting int
		err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
	}
	t.Fatalf("fewer than %d statements ever waited for a lock", n)
}

// Revocations of a user racing touch batches of that user's sessions (other
// instances' requests, through Validate) all succeed and end every session.
// Each round stores the sessions in descending hash order, the reverse of
// the batches', makes them due for a touch, and revokes once the validators
// are halfway through their first touches; the revoker's connections check
// for deadlocks after 20 ms and the validators' after 30 s, so that a
// deadlock shows as the revocation's error. (Without endInOrder a round in
// the first few deadlocked on every run tried.)
func TestRevokeAllRacingValidate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t, pgstore.Config{})
	validator := storeWithDeadlockTimeout(t, f, "30s")
	revoker := storeWithDeadlockTimeout(t, f, "20ms")
	const sessions, goroutines = 16, 8
	for round := 0; round < 40; round++ {
		hashes := make([]string, sessions)
		for i := range hashes {
			hashes[i] = newHash(t)
		}
		slices.Sort(hashes)
		slices.Reverse(hashes)
		for _, h := range hashes {
			f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = h })
		}
		if _, err := f.pool.Exec(ctx, `UPDATE sessions SET last_activity_at = last_activity_at - interval '2 minutes'
			WHERE user_id = $1 AND is_active`, f.user); err != nil {
			t.Fatal(err)
		}
		var keep sessionguard.SessionInfo
		if round%2 == 1 {
			_, keep = f.create(t, nil)
		}
		start := make(chan struct{})
		var (
			wg        sync.WaitGroup
			validated atomic.Int32
			midway    = make(chan struct{})
		)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := range hashes {
					if _, err := validator.Validate(ctx, hashes[(i+g*3)%sessions], sessionguard.Scope{}); err != nil {
						t.Errorf("Validate: %v", err)
					}
					if validated.Add(1) == sessions/2 {
						close(midway)
					}
				}
			}()
		}
		close(start)
		<-midway // touches in flight, half of them still due
		var (
			n   int
			err error
		)
		if round%2 == 0 {
			n, err = revoker.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange)
		} else {
			n, err = revoker.RevokeAllExcept(ctx, f.user, keep.ID, sessionguard.ReasonPasswordChange)
		}
		wg.Wait()
		if err != nil || n != sessions {
			t.Fatalf("round %d: revoke = %d, %v; want %d", round, n, err, sessions)
		}
		for _, h := range hashes {
			if f.row(t, h).Active {
				t.Fatalf("round %d: a session outlived the revocation", round)
			}
		}
		if keep.ID != "" {
			if _, err := revoker.RevokeSession(ctx, keep.ID, sessionguard.ReasonLogout); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRevokeRacingATouch: every revocation that waited for a touch of its
// session's row (the touch commits while the revocation waits) ends the
// session, at every isolation level a pool's default_transaction_isolation
// may set. Under REPEATABLE READ and SERIALIZABLE, PostgreSQL fails a
// statement whose row another transaction changed after its snapshot
// (40001): Revoke, the admin revokes and SCSStore.Delete (scs's RenewToken
// and Destroy) returned that error and left the session alive, where
// SignOut started over.
func TestRevokeRacingATouch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	tests := []struct {
		name   string
		reason string
		// revoke ends the session of hash (id), the only active one but
		// keep (RevokeAllExcept's), and reports how many it ended.
		revoke func(s *pgstore.Store, hash, id, keep string) (int, error)
	}{
		{"Revoke", sessionguard.ReasonAdminRevoke, func(s *pgstore.Store, hash, _, _ string) (int, error) {
			ok, err := s.Revoke(ctx, hash, sessionguard.ReasonAdminRevoke)
			return boolCount(ok), err
		}},
		{"RevokeSession", sessionguard.ReasonAdminRevoke, func(s *pgstore.Store, _, id, _ string) (int, error) {
			ok, err := s.RevokeSession(ctx, id, sessionguard.ReasonAdminRevoke)
			return boolCount(ok), err
		}},
		{"RevokeUserSession", sessionguard.ReasonAdminRevoke, func(s *pgstore.Store, _, id, _ string) (int, error) {
			ok, err := s.RevokeUserSession(ctx, f.user, id, sessionguard.ReasonAdminRevoke)
			return boolCount(ok), err
		}},
		{"RevokeAll", sessionguard.ReasonPasswordChange, func(s *pgstore.Store, _, _, _ string) (int, error) {
			return s.RevokeAll(ctx, f.user, sessionguard.ReasonPasswordChange)
		}},
		{"RevokeAllExcept", sessionguard.ReasonPasswordChange, func(s *pgstore.Store, _, _, keep string) (int, error) {
			return s.RevokeAllExcept(ctx, f.user, keep, sessionguard.ReasonPasswordChange)
		}},
		{"RevokeEveryone", "key_leak", func(s *pgstore.Store, _, _, _ string) (int, error) {
			return s.RevokeEveryone(ctx, "key_leak")
		}},
		{"SCSStore.Delete", sessionguard.ReasonLogout, func(s *pgstore.Store, hash, _, _ string) (int, error) {
			scs, err := pgstore.NewSCSStore(s, pgstore.SCSConfig{})
			if err != nil {
				return 0, err
			}
			sum, err := hex.DecodeString(hash)
			if err != nil {
				return 0, err
			}
			return 1, scs.DeleteCtx(ctx, base64.RawURLEncoding.EncodeToString(sum))
		}},
	}
	for _, isolation := range isolationLevels {
		store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(isolation+", "+tt.name, func(t *testing.T) {
				// What earlier subtests left active (the session kept) ends
				// here, behind the store's back.
				mustExec(t, f, "UPDATE sessions SET is_active = false, revoked_at = now(), ended_at = now(), revoke_reason = 'test_setup' WHERE is_active")
				hash, s := f.create(t, nil)
				var keep string
				if tt.name == "RevokeAllExcept" {
					_, kept := f.create(t, nil)
					keep = kept.ID
				}
				touch, err := f.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = touch.Rollback(ctx) }()
				if _, err := touch.Exec(ctx, "UPDATE sessions SET last_activity_at = CURRENT_TIMESTAMP WHERE id = $1", s.ID); err != nil {
					t.Fatal(err)
				}
				type result struct {
					n   int
					err error
				}
				done := make(chan result, 1)
				go func() {
					n, err := tt.revoke(store, hash, s.ID, keep)
					done <- result{n, err}
				}()
				waitForLockWaits(t, f, 1)
				if err := touch.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				if r := <-done; r.err != nil || r.n != 1 {
					t.Fatalf("%s that waited for the touch = %d, %v; want 1", tt.name, r.n, r.err)
				}
				if active, reason := endState(t, f, s.ID); active || reason != tt.reason {
					t.Fatalf("session after %s: active %v, reason %q", tt.name, active, reason)
				}
			})
		}
	}
}

func boolCount(ok bool) int {
	if ok {
		return 1
	}
	return 0
}
