package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Touches in one statement answer and write what each touch alone does, for
// every state: twin sessions, one set touched in one batch, the other one by
// one, end with the same answers and the same rows.
func TestBatchedTouchMatchesTheLoneCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: time.Minute})
	panel := sessionguard.Scope{AppType: sessionguard.ControlPanel}
	tests := []struct {
		name    string
		edit    func(*sessionguard.NewSession)
		prepare func(t *testing.T, hash string)
		scope   sessionguard.Scope
		want    sessionguard.State
		touched bool
	}{
		{"touch due", nil, func(t *testing.T, h string) { f.age(t, h, 2*time.Minute, 0) }, panel, sessionguard.StateValid, true},
		{"touch not due", nil, nil, sessionguard.Scope{}, sessionguard.StateValid, false},
		{"idle expired", nil, func(t *testing.T, h string) { f.age(t, h, 4*time.Hour, 0) }, sessionguard.Scope{}, sessionguard.StateIdle, false},
		{"absolute expired", nil, func(t *testing.T, h string) { f.age(t, h, 0, 8*time.Hour) }, sessionguard.Scope{}, sessionguard.StateAbsolute, false},
		{"revoked", nil, func(t *testing.T, h string) { mustRevoke(t, f, h, sessionguard.ReasonAdminRevoke) }, panel, sessionguard.StateRevoked, false},
		{"wrong app", nil, func(t *testing.T, h string) { f.age(t, h, 2*time.Minute, 0) },
			sessionguard.Scope{AppType: sessionguard.TenantApp}, sessionguard.StateWrongApp, false},
		{"wrong tenant", func(n *sessionguard.NewSession) { n.AppType = sessionguard.TenantApp; n.TenantID = f.tenant },
			func(t *testing.T, h string) { f.age(t, h, 2*time.Minute, 0) }, sessionguard.Scope{TenantID: f.tenant + 1}, sessionguard.StateWrongTenant, false},
		{"right tenant, due", func(n *sessionguard.NewSession) { n.AppType = sessionguard.TenantApp; n.TenantID = f.tenant },
			func(t *testing.T, h string) { f.age(t, h, 2*time.Minute, 0) },
			sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant}, sessionguard.StateValid, true},
		{"unknown", nil, nil, sessionguard.Scope{}, sessionguard.StateUnknown, false},
	}
	twin := func(t *testing.T, i int) string {
		tt := tests[i]
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
		return hash
	}
	var batchHashes, loneHashes []string
	var scopes []sessionguard.Scope
	for i, tt := range tests {
		batchHashes = append(batchHashes, twin(t, i))
		loneHashes = append(loneHashes, twin(t, i))
		scopes = append(scopes, tt.scope)
	}
	batch, err := pgstore.TouchBatch(ctx, f.store, batchHashes, scopes)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lone, err := pgstore.TouchBatch(ctx, f.store, loneHashes[i:i+1], scopes[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			got, want := batch[i], lone[0]
			if got.State != tt.want || want.State != tt.want {
				t.Fatalf("state: batched %q, lone %q; want %q", got.State, want.State, tt.want)
			}
			if got.EndReason != want.EndReason || got.UserID != want.UserID || got.TenantID != want.TenantID ||
				got.AppType != want.AppType || got.IdleTimeout != want.IdleTimeout {
				t.Fatalf("batched:\n%+v\nlone:\n%+v", got, want)
			}
			touched := func(st sessionguard.Status) bool {
				return !st.LastActivityAt.IsZero() && st.LastActivityAt.Equal(st.CheckedAt)
			}
			if touched(got) != tt.touched || touched(want) != tt.touched {
				t.Fatalf("touched: batched %v, lone %v; want %v", touched(got), touched(want), tt.touched)
			}
			if tt.want == sessionguard.StateUnknown {
				return
			}
			gotRow, wantRow := f.row(t, batchHashes[i]), f.row(t, loneHashes[i])
			if gotRow.Active != wantRow.Active || gotRow.reason() != wantRow.reason() || gotRow.Ended != wantRow.Ended {
				t.Fatalf("row after: batched %+v, lone %+v", gotRow, wantRow)
			}
		})
	}
}

// Touches that come due together share statements, and each session is
// still written once: 64 callers validate 64 due sessions at once, then
// again.
func TestBatchingSharesTouches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	const n = 64
	hashes := make([]string, n)
	for i := range hashes {
		hashes[i], _ = f.create(t, nil)
		f.age(t, hashes[i], 2*time.Minute, 0)
	}
	s, c := countedStore(t, f, pgstore.Config{}, 4)
	for range 2 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := s.Validate(ctx, hashes[i], sessionguard.Scope{})
				if err != nil || !st.Valid() {
					t.Errorf("Validate: %v %v", st.State, err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	t.Logf("%d touches in %d statements (%d batched)", n, c.touches.Load()+c.batchedTouches.Load(), c.batchedTouches.Load())
	if c.batchedTouches.Load() == 0 || c.touches.Load()+c.batchedTouches.Load() >= n {
		t.Fatalf("%d due sessions took %d lone and %d batched touch statements, want fewer statements than sessions",
			n, c.touches.Load(), c.batchedTouches.Load())
	}
	for _, h := range hashes {
		if r := f.row(t, h); !r.Active || time.Since(r.LastActivity) > time.Minute {
			t.Fatalf("session not touched: %+v", r)
		}
	}
}

// A touch batch that PostgreSQL fails to break a deadlock (here against a
// transaction that locks the same two rows in the other order, as RevokeAll
// may) sends each touch again on its own: the callers get their answers,
// not the deadlock.
func TestTouchBatchSurvivesADeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	lo, _ := f.create(t, nil)
	hi, _ := f.create(t, nil)
	if hi < lo {
		lo, hi = hi, lo
	}
	f.age(t, lo, 2*time.Minute, 0)
	f.age(t, hi, 2*time.Minute, 0)

	tx, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// This transaction checks for deadlocks only after 30 s, the batch's
	// connection after the default 1 s: the batch is the one PostgreSQL fails.
	if _, err := tx.Exec(ctx, "SET LOCAL deadlock_timeout = '30s'"); err != nil {
		t.Fatal(err)
	}
	lock := "SELECT 1 FROM sessions WHERE session_token_hash = $1 FOR UPDATE"
	if _, err := tx.Exec(ctx, lock, hi); err != nil {
		t.Fatal(err)
	}
	type result struct {
		st  []sessionguard.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := pgstore.TouchBatch(ctx, f.store, []string{lo, hi}, make([]sessionguard.Scope, 2))
		done <- result{st, err}
	}()
	// The batch locks lo, then waits for hi; this transaction then waits
	// for lo: a cycle, which the batch's deadlock check finds.
	waitForLockWait(t, f)
	if _, err := tx.Exec(ctx, lock, lo); err != nil {
		t.Fatalf("the transaction was the deadlock's victim: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("TouchBatch after a deadlock: %v", r.err)
	}
	for i, st := range r.st {
		if !st.Valid() || !st.LastActivityAt.Equal(st.CheckedAt) {
			t.Fatalf("session %d: %+v, want valid and touched", i, st)
		}
	}
}

// waitForLockWait waits until some backend of f's database waits for a row lock.
func waitForLockWait(t *testing.T, f fixture) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("the batch never waited for the row lock")
}

// failTouchesOf installs a trigger on f's sessions table that fails every
// write of hash's row with SQLSTATE code, batched or alone: one session
// whose touch keeps failing, as a row another transaction holds locked.
func failTouchesOf(t *testing.T, f fixture, hash, code string) {
	t.Helper()
	ctx := context.Background()
	for _, stmt := range []string{
		`CREATE TABLE test_failing_touches (hash text PRIMARY KEY, code text NOT NULL)`,
		`CREATE FUNCTION test_fail_touch() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE c text;
		BEGIN
			SELECT code INTO c FROM test_failing_touches WHERE hash = OLD.session_token_hash;
			IF c IS NOT NULL THEN
				RAISE EXCEPTION 'test: touch refused' USING ERRCODE = c;
			END IF;
			RETURN NEW;
		END $$`,
		`CREATE TRIGGER test_fail_touch BEFORE UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION test_fail_touch()`,
	} {
		if _, err := f.pool.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.pool.Exec(ctx, `INSERT INTO test_failing_touches VALUES ($1, $2)`, hash, code); err != nil {
		t.Fatal(err)
	}
}

// A touch batch whose statement fails with a deadlock, a serialization
// failure or a lock timeout sends each touch again on its own, and each
// caller hears its own touch's answer: a touch that fails again fails its
// own caller only, never the touches before or after it in the batch. Any
// other error of the batched statement fails every touch at once, and no
// touch is sent again.
func TestTouchBatchFallbackAnswersEachTouchOnItsOwn(t *testing.T) {
	t.Parallel()
	const bad = 1 // neither first nor last in the batch's order
	trigger := func(code string) func(t *testing.T, f fixture, hash string) {
		return func(t *testing.T, f fixture, hash string) { failTouchesOf(t, f, hash, code) }
	}
	tests := []struct {
		name  string
		fail  func(t *testing.T, f fixture, hash string) // makes hash's touch fail, batched or alone
		code  string
		alone bool // each touch is sent again on its own
	}{
		{"deadlock", trigger("40P01"), "40P01", true},
		{"serialization failure, three times in a row", trigger("40001"), "40001", true},
		{"lock timeout on a row another transaction holds", holdRowPastLockTimeout, "55P03", true},
		{"any other error", trigger("P0001"), "P0001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, pgstore.Config{})
			hashes := make([]string, 4)
			for i := range hashes {
				hashes[i], _ = f.create(t, nil)
				f.age(t, hashes[i], 2*time.Minute, 0)
			}
			tt.fail(t, f, hashes[bad])
			s, c := countedStore(t, f, pgstore.Config{}, 2)
			st, errs := pgstore.TouchEach(ctx, s, hashes, make([]sessionguard.Scope, len(hashes)))
			for i := range hashes {
				var pgErr *pgconn.PgError
				if i == bad || !tt.alone {
					if !errors.As(errs[i], &pgErr) || pgErr.Code != tt.code || st[i].State != "" {
						t.Fatalf("session %d: %+v, %v; want no status and %s", i, st[i], errs[i], tt.code)
					}
					continue
				}
				if errs[i] != nil || !st[i].Valid() || !st[i].LastActivityAt.Equal(st[i].CheckedAt) {
					t.Fatalf("session %d: %+v, %v; want valid and touched", i, st[i], errs[i])
				}
				if r := f.row(t, hashes[i]); time.Since(r.LastActivity) > time.Minute {
					t.Fatalf("session %d not touched: %+v", i, r)
				}
			}
			wantAlone := int64(0)
			if tt.alone {
				wantAlone = int64(len(hashes))
			}
			if c.batchedTouches.Load() != 1 || c.touches.Load() < wantAlone || !tt.alone && c.touches.Load() != 0 {
				t.Fatalf("%d batched and %d lone touch statements; want 1 batched and %d alone",
					c.batchedTouches.Load(), c.touches.Load(), wantAlone)
			}
		})
	}
}

// holdRowPastLockTimeout locks hash's row in a transaction held until the
// test ends, and gives every new connection to f's database a lock timeout
// of 200 ms: a touch of that row, batched or alone, then fails with 55P03.
func holdRowPastLockTimeout(t *testing.T, f fixture, hash string) {
	t.Helper()
	ctx := context.Background()
	var db string
	if err := f.pool.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" SET lock_timeout = '200ms'"); err != nil {
		t.Fatal(err)
	}
	tx, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_token_hash = $1 FOR UPDATE", hash); err != nil {
		t.Fatal(err)
	}
}
