package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
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
// the sessions row of its hash. Where the row lets go of the hash, the data
// must not come back under it: migration 034 stores nothing under a hash a
// re-authentication rotated out (a late Commit of a request that loaded the
// data before), and takes the data with a TRUNCATE of sessions, which fires
// no DELETE trigger. A session deleted with its user leaves no trace of its
// hash: a late Commit stores the data as an anonymous session's (the
// SCSStore's doc says so). In every case the token never signs in.
func TestSCSDataWithoutASessionsRow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		gone func(t *testing.T, f fixture, tok scsToken, id string)
		want string // what Find returns after a late Commit of "late"; "" for not found
	}{
		{"token rotated out by a re-authentication", func(t *testing.T, f fixture, tok scsToken, id string) {
			_, ok, err := f.store.Reauthenticate(context.Background(), sessionguard.Reauthentication{
				SessionID: id, OldTokenHash: tok.hash, NewTokenHash: newHash(t)})
			if err != nil || !ok {
				t.Fatalf("Reauthenticate = %v, %v", ok, err)
			}
		}, ""},
		{"sessions truncated", func(t *testing.T, f fixture, _ scsToken, _ string) {
			mustExec(t, f, `TRUNCATE sessions`)
		}, "late"},
		{"users truncated with CASCADE", func(t *testing.T, f fixture, _ scsToken, _ string) {
			mustExec(t, f, `TRUNCATE users CASCADE`)
		}, "late"},
		{"user deleted with their sessions", func(t *testing.T, f fixture, _ scsToken, _ string) {
			mustExec(t, f, `DELETE FROM users WHERE id = $1`, f.user)
		}, "late"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, pgstore.Config{})
			s := newSCSStore(t, f)
			tok := newSCSToken(t)
			_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
			mustCommit(t, s, tok.key, []byte("signed in"), time.Now().Add(time.Hour))
			anonymous := newSCSToken(t)
			mustCommit(t, s, anonymous.key, []byte("anonymous"), time.Now().Add(time.Hour))

			tc.gone(t, f, tok, info.ID)
			if n := f.dataRows(t, tok.hash); n != 0 {
				t.Fatalf("%d data rows right after the sessions row let go of the hash, want 0", n)
			}
			if b, found := findOK(t, s, anonymous.key); !found || string(b) != "anonymous" {
				t.Fatalf("an anonymous session's data: Find = %q, %v; want it kept", b, found)
			}
			mustCommit(t, s, tok.key, []byte("late"), time.Now().Add(time.Hour))
			b, found := findOK(t, s, tok.key)
			if got := map[bool]string{true: string(b)}[found]; got != tc.want {
				t.Fatalf("Find after a late Commit = %q, %v; want %q", b, found, tc.want)
			}
			if st := mustValidate(t, f.store, tok.hash, sessionguard.Scope{}); st.State != sessionguard.StateUnknown {
				t.Fatalf("Validate of the token = %q, want unknown: it must never sign in", st.State)
			}
		})
	}
}

// TestSCSCommitWaitingOnTheRotation races a Commit with the rotation of its
// token: the Commit's FOR SHARE of the session row waits for the rotation's
// transaction. Committed, the rotation retires the hash, and the Commit
// stores nothing under it (migration 034's trigger reads after the wait at
// READ COMMITTED; at the stricter levels the Commit fails to serialize);
// rolled back, the token is the session's again and its data is stored.
func TestSCSCommitWaitingOnTheRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	for _, isolation := range isolationLevels {
		store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
		if err != nil {
			t.Fatal(err)
		}
		for _, commit := range []bool{true, false} {
			tok := newSCSToken(t)
			_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
			tx, err := f.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Reauthenticate's statement, in a transaction held open.
			if _, err := tx.Exec(ctx, "UPDATE sessions SET session_token_hash = $2 WHERE id = $1", info.ID, newHash(t)); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.CommitCtx(ctx, tok.key, []byte("late"), time.Now().Add(time.Hour)) }()
			waitForLockWaits(t, f, 1)
			if commit {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			err = <-done
			switch n := f.dataRows(t, tok.hash); {
			case commit && n != 0:
				t.Errorf("%s: a Commit that waited on the rotation stored %d rows under the retired token (err %v)", isolation, n, err)
			case !commit && (err != nil || n != 1):
				t.Errorf("%s: a Commit that waited on a rolled-back rotation: %d rows, %v; want 1, nil", isolation, n, err)
			}
		}
	}
}

// TestSCSDataTriggersNeedNoGrant: migration 034's triggers run with the
// rights of the role that migrated, so an application's role that commits
// scs data needs no privilege on the retired hashes, and a role that may
// truncate sessions none on sessionguard_scs_data.
func TestSCSDataTriggersNeedNoGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	// The rights of newAppRole, and INSERT for the scs Commit.
	name := pgtest.NewRole(t, f.pool)
	mustExec(t, f, "GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO "+name)
	mustExec(t, f, "GRANT SELECT, INSERT, UPDATE, DELETE ON sessionguard_scs_data TO "+name)
	app, err := pgstore.New(pgtest.PoolAs(t, f.pool, name), pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.NewSCSStore(app, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tok := newSCSToken(t)
	info, err := app.Create(ctx, sessionguard.NewSession{TokenHash: tok.hash, UserID: f.user, AppType: sessionguard.ControlPanel})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, tok.key, []byte("signed in"), time.Now().Add(time.Hour))
	if _, ok, err := app.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: info.ID, OldTokenHash: tok.hash, NewTokenHash: newHash(t)}); err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
	mustCommit(t, s, tok.key, []byte("late"), time.Now().Add(time.Hour))
	if n := f.dataRows(t, tok.hash); n != 0 {
		t.Fatalf("the application's role stored %d rows under a rotated-out token", n)
	}

	truncator := pgtest.NewRole(t, f.pool)
	mustExec(t, f, "GRANT TRUNCATE ON sessions TO "+truncator)
	signedIn := newSCSToken(t)
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = signedIn.hash })
	mustCommit(t, s, signedIn.key, []byte("signed in"), time.Now().Add(time.Hour))
	if _, err := pgtest.PoolAs(t, f.pool, truncator).Exec(ctx, "TRUNCATE sessions"); err != nil {
		t.Fatalf("TRUNCATE sessions by a role with no right on the scs data: %v", err)
	}
	if n := f.dataRows(t, signedIn.hash); n != 0 {
		t.Fatalf("%d data rows of a signed-in session after TRUNCATE sessions, want 0", n)
	}
}

// TestSCSRotationWaitingOnTheCommit races the other way round: a Commit of
// the token's first data holds the session row (its FOR SHARE) when the
// rotation starts, and the rotation waits for it. The data committed must
// move with the session to the new token, and nothing may stay readable
// under the old one, whatever the isolation level of the rotating pool:
// under REPEATABLE READ or SERIALIZABLE a rotation reading with the
// snapshot it took before the wait neither moved nor deleted the row, which
// then stayed under the rotated-out token, as an anonymous session's data.
func TestSCSRotationWaitingOnTheCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	for _, isolation := range isolationLevels {
		store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		tok := newSCSToken(t)
		_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
		tx := commitHeldOpen(t, f, tok.hash)
		newTok := newSCSToken(t)
		type result struct {
			ok  bool
			err error
		}
		done := make(chan result, 1)
		go func() {
			_, ok, err := store.Reauthenticate(ctx, sessionguard.Reauthentication{
				SessionID: info.ID, OldTokenHash: tok.hash, NewTokenHash: newTok.hash})
			done <- result{ok, err}
		}()
		waitForLockWaits(t, f, 1)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || !r.ok {
			t.Errorf("%s: Reauthenticate after the Commit = %v, %v; want true, nil", isolation, r.ok, r.err)
			continue
		}
		if b, found := findOK(t, s, tok.key); found {
			t.Errorf("%s: Find under the rotated-out token = %q: the data stayed readable under it", isolation, b)
		}
		if b, found := findOK(t, s, newTok.key); !found || string(b) != "committed" {
			t.Errorf("%s: Find under the new token = %q, %v; want the data committed before the rotation", isolation, b, found)
		}
	}
}

// A database that ran the migrations before 034 may hold data that a late
// Commit stored under a token a re-authentication had rotated out; Find
// hands it to whoever holds that token, and 034's trigger, which skips the
// whole INSERT ... ON CONFLICT DO UPDATE, would leave it there unchanged.
// Migration 034 deletes it.
func TestSCSMigrationForgetsDataUnderRetiredTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	var m034 schema.Migration
	for _, m := range schema.Migrations() {
		if m.Version == 34 {
			m034 = m
		}
	}
	mustExec(t, f, m034.Down)
	tok := newSCSToken(t)
	_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
	if _, ok, err := f.store.Reauthenticate(ctx, sessionguard.Reauthentication{
		SessionID: info.ID, OldTokenHash: tok.hash, NewTokenHash: newHash(t)}); err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
	mustCommit(t, s, tok.key, []byte("late"), time.Now().Add(time.Hour))
	if _, found := findOK(t, s, tok.key); !found {
		t.Fatal("without 034, a late Commit under the rotated-out token was not stored: the test proves nothing")
	}
	mustExec(t, f, m034.SQL)
	if b, found := findOK(t, s, tok.key); found {
		t.Fatalf("after 034, Find under the rotated-out token = %q, want not found", b)
	}
	if n := f.dataRows(t, tok.hash); n != 0 {
		t.Fatalf("%d data rows under the rotated-out token after 034, want 0", n)
	}
}

// Migration 034's functions run with the rights of the role that migrated
// (SECURITY DEFINER). PostgreSQL lets everyone execute a new function, and
// a trigger function runs whatever table its trigger is on: a role with no
// right on any table of the schema made one of its own (a temporary table
// needs none), put the truncate trigger's function on it, truncated it, and
// every signed-in session's scs data was gone. Only their owner may attach
// them.
func TestSCSDataTriggerFunctionsAreNotPublic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	tok := newSCSToken(t)
	f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
	mustCommit(t, s, tok.key, []byte("signed in"), time.Now().Add(time.Hour))

	conn, err := pgtest.PoolAs(t, f.pool, pgtest.NewRole(t, f.pool)).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMPORARY TABLE own (token_hash text)`); err != nil {
		t.Fatal(err)
	}
	for i, trigger := range []string{
		`BEFORE TRUNCATE ON own FOR EACH STATEMENT EXECUTE FUNCTION public.sessionguard_scs_data_end_with_truncated_sessions()`,
		`BEFORE INSERT ON own FOR EACH ROW EXECUTE FUNCTION public.sessionguard_scs_data_refuse_retired()`,
	} {
		_, err := conn.Exec(ctx, fmt.Sprintf(`CREATE TRIGGER t%d %s`, i, trigger))
		if !containsCode(err, "42501") { // insufficient_privilege
			t.Errorf("CREATE TRIGGER %s by a role with no rights: %v, want permission denied", trigger, err)
		}
	}
	if _, err := conn.Exec(ctx, `TRUNCATE own`); err != nil {
		t.Fatal(err)
	}
	if b, found := findOK(t, s, tok.key); !found {
		t.Fatalf("a signed-in session's data after another role truncated its own table: Find = %q, %v; want it kept", b, found)
	}
}

// TestSCSRevocationWaitingOnTheCommit: a revocation that waits on a Commit
// holding the session row deletes the data that Commit stored under READ
// COMMITTED only; under REPEATABLE READ or SERIALIZABLE its snapshot,
// taken before the wait, misses the row, which stays. Find never returns it
// (its session has ended), and it goes with the session's row (the
// Cleaner's purge), as the SCSStore's doc says.
func TestSCSRevocationWaitingOnTheCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	for _, isolation := range isolationLevels {
		store, err := pgstore.New(poolAtIsolation(t, f, isolation), pgstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		tok := newSCSToken(t)
		_, info := f.create(t, func(n *sessionguard.NewSession) { n.TokenHash = tok.hash })
		tx := commitHeldOpen(t, f, tok.hash)
		done := make(chan error, 1)
		go func() {
			_, err := store.Revoke(ctx, tok.hash, sessionguard.ReasonLogout)
			done <- err
		}()
		waitForLockWaits(t, f, 1)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%s: Revoke after the Commit: %v", isolation, err)
		}
		if b, found := findOK(t, s, tok.key); found {
			t.Errorf("%s: Find after the revocation = %q, want not found", isolation, b)
		}
		if n, want := f.dataRows(t, tok.hash), map[bool]int{true: 0, false: 1}[isolation == "read committed"]; n != want {
			t.Errorf("%s: %d data rows after the revocation, want %d", isolation, n, want)
		}
		mustExec(t, f, `DELETE FROM sessions WHERE id = $1`, info.ID)
		if n := f.dataRows(t, tok.hash); n != 0 {
			t.Errorf("%s: %d data rows after the session's row was deleted, want 0", isolation, n)
		}
	}
}

// commitHeldOpen does what SCSStore.CommitCtx does for the first data of
// hash ("committed"): it locks the session row (FOR SHARE) and inserts the
// data, in a transaction it leaves open for the test to end.
func commitHeldOpen(t *testing.T, f fixture, hash string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM sessions WHERE session_token_hash = $1 FOR SHARE`, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sessionguard_scs_data (token_hash, data, expiry)
		VALUES ($1, 'committed', CURRENT_TIMESTAMP + interval '1 hour')`, hash); err != nil {
		t.Fatal(err)
	}
	return tx
}
