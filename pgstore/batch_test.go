package pgstore_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// A batch's statement answers each of its lookups as the one-session read
// does, for every state, in one statement: the rows come from readBatchSQL
// and go through the same decision, each with its own scope. Peek of a lone
// lookup (a batch of one, readSQL) and sessionguard_check agree with it.
func TestBatchedReadMatchesTheSingleRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{TouchInterval: time.Hour})
	panel := sessionguard.Scope{AppType: sessionguard.ControlPanel}
	tests := []struct {
		name    string
		edit    func(*sessionguard.NewSession)
		prepare func(t *testing.T, hash string)
		scope   sessionguard.Scope
		want    sessionguard.State
	}{
		{"valid", nil, nil, sessionguard.Scope{}, sessionguard.StateValid},
		{"valid in scope", nil, nil, panel, sessionguard.StateValid},
		{"touch due", nil, func(t *testing.T, h string) { f.age(t, h, 2*time.Hour, 0) }, panel, sessionguard.StateValid},
		{"idle expired", nil, func(t *testing.T, h string) { f.age(t, h, 4*time.Hour, 0) }, sessionguard.Scope{}, sessionguard.StateIdle},
		{"absolute expired", nil, func(t *testing.T, h string) { f.age(t, h, 0, 8*time.Hour) }, sessionguard.Scope{}, sessionguard.StateAbsolute},
		{"logged out", nil, func(t *testing.T, h string) { mustRevoke(t, f, h, sessionguard.ReasonLogout) }, sessionguard.Scope{}, sessionguard.StateRevoked},
		{"revoked by an admin", nil, func(t *testing.T, h string) { mustRevoke(t, f, h, sessionguard.ReasonAdminRevoke) }, panel, sessionguard.StateRevoked},
		{"wrong app", nil, nil, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant}, sessionguard.StateWrongApp},
		{"wrong tenant", func(n *sessionguard.NewSession) { n.AppType = sessionguard.TenantApp; n.TenantID = f.tenant },
			nil, sessionguard.Scope{TenantID: f.tenant + 1}, sessionguard.StateWrongTenant},
		{"right tenant", func(n *sessionguard.NewSession) { n.AppType = sessionguard.TenantApp; n.TenantID = f.tenant },
			nil, sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: f.tenant}, sessionguard.StateValid},
		{"unknown", nil, nil, sessionguard.Scope{}, sessionguard.StateUnknown},
	}
	var hashes []string
	var scopes []sessionguard.Scope
	for _, tt := range tests {
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
		hashes = append(hashes, hash)
		scopes = append(scopes, tt.scope)
	}
	// The same session twice in one batch, with different scopes.
	hashes = append(hashes, hashes[0])
	scopes = append(scopes, sessionguard.Scope{AppType: sessionguard.TenantApp})

	batch, err := pgstore.PeekBatch(ctx, f.store, hashes, scopes)
	if err != nil {
		t.Fatal(err)
	}
	for i, hash := range hashes {
		name, want := "valid, second lookup out of scope", sessionguard.StateWrongApp
		if i < len(tests) {
			name, want = tests[i].name, tests[i].want
		}
		t.Run(name, func(t *testing.T) {
			single, err := f.store.Peek(ctx, hash, scopes[i])
			if err != nil {
				t.Fatal(err)
			}
			got := batch[i]
			if got.State != want {
				t.Fatalf("batched state = %q, want %q", got.State, want)
			}
			fn := f.callCheck(t, hash, scopes[i])
			got.CheckedAt, single.CheckedAt, fn.CheckedAt = time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, single) {
				t.Fatalf("batched read:\n%+v\nsingle read:\n%+v", got, single)
			}
			if !reflect.DeepEqual(got, fn) {
				t.Fatalf("batched read:\n%+v\nsessionguard_check:\n%+v", got, fn)
			}
		})
	}
}

// statementCounter counts the statements a pool sends, by kind.
type statementCounter struct {
	single, batched, touches, batchedTouches, other atomic.Int64
	// readDelay, when set, holds each lookup's statement that long before
	// it is sent, in flight as far as the batcher can tell.
	readDelay atomic.Int64 // a time.Duration
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	switch {
	case strings.Contains(d.SQL, "CROSS JOIN LATERAL sessionguard_check"):
		c.batchedTouches.Add(1)
	case strings.Contains(d.SQL, "FROM sessionguard_check($1"):
		c.touches.Add(1)
	case strings.Contains(d.SQL, "unnest(a.hashes)"):
		c.batched.Add(1)
		time.Sleep(time.Duration(c.readDelay.Load()))
	case strings.Contains(d.SQL, "FROM sessions WHERE session_token_hash = $1"):
		c.single.Add(1)
		time.Sleep(time.Duration(c.readDelay.Load()))
	default:
		c.other.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// countedStore is a Store over a second pool on f's database whose
// statements are counted.
func countedStore(t *testing.T, f fixture, cfg pgstore.Config, conns int32) (*pgstore.Store, *statementCounter) {
	t.Helper()
	pc := f.pool.Config().Copy()
	counter := &statementCounter{}
	pc.ConnConfig.Tracer = counter
	pc.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	store, err := pgstore.New(pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return store, counter
}

// Lookups that arrive while one is in flight share the next statement; a
// lone lookup (one caller at a time) goes out alone and at once, as the
// one-session read; with MaxBatch 1 every lookup is its own statement.
func TestBatchingSharesStatementsUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	var hashes []string
	for range 32 {
		h, _ := f.create(t, nil)
		hashes = append(hashes, h)
	}
	const workers, perWorker = 64, 40
	hammer := func(t *testing.T, s *pgstore.Store, workers int) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					st, err := s.Validate(ctx, hashes[(w+i)%len(hashes)], sessionguard.Scope{})
					if err != nil || !st.Valid() {
						t.Errorf("Validate: %v %v", st.State, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}

	t.Run("concurrent lookups share statements", func(t *testing.T) {
		s, c := countedStore(t, f, pgstore.Config{MaxBatch: 16}, 4)
		// Each statement stays in flight at least 2 ms, so that the
		// workers meet even on a starved machine: in the full suite under
		// -race, the scheduler otherwise ran them nearly one at a time
		// (2,240 of 2,560 lookups alone).
		c.readDelay.Store(int64(2 * time.Millisecond))
		hammer(t, s, workers)
		lookups := int64(workers * perWorker)
		statements := c.single.Load() + c.batched.Load()
		t.Logf("%d lookups in %d statements (%d batched, %d single), %.1f lookups per statement",
			lookups, statements, c.batched.Load(), c.single.Load(), float64(lookups)/float64(statements))
		if c.batched.Load() == 0 || statements*2 > lookups {
			t.Fatalf("%d lookups took %d statements, want at most half as many", lookups, statements)
		}
		if c.other.Load() != 0 {
			t.Fatalf("%d other statements (touches?), want none: every session was touched at creation", c.other.Load())
		}
	})
	t.Run("a lone caller is not batched", func(t *testing.T) {
		s, c := countedStore(t, f, pgstore.Config{}, 4)
		hammer(t, s, 1)
		if c.batched.Load() != 0 || c.single.Load() != perWorker {
			t.Fatalf("one caller: %d single and %d batched statements, want %d and 0", c.single.Load(), c.batched.Load(), perWorker)
		}
	})
	t.Run("MaxBatch 1 turns it off", func(t *testing.T) {
		s, c := countedStore(t, f, pgstore.Config{MaxBatch: 1}, 4)
		hammer(t, s, workers)
		if c.batched.Load() != 0 || c.single.Load() != workers*perWorker {
			t.Fatalf("MaxBatch 1: %d single and %d batched statements, want %d and 0", c.single.Load(), c.batched.Load(), workers*perWorker)
		}
	})
}

// After a revoke returns, no lookup that starts later is answered valid,
// whichever batch it lands in: many callers hammer a set of sessions
// through a batching store while another store (another instance, its own
// pool) revokes them one by one.
func TestBatchingNeverPassesARevokedSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	const sessions = 200
	hashes := make([]string, sessions)
	for i := range hashes {
		hashes[i], _ = f.create(t, nil)
	}
	reader, counter := countedStore(t, f, pgstore.Config{}, 4)
	revoker, _ := countedStore(t, f, pgstore.Config{}, 2)
	revoked := make([]atomic.Bool, sessions) // set once the revoke has returned

	stop := make(chan struct{})
	var (
		wg                      sync.WaitGroup
		lookups, afterRevoke    atomic.Int64
		passedAfterRevoke, errs atomic.Int64
	)
	for w := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 7 {
				select {
				case <-stop:
					return
				default:
				}
				k := i % sessions
				wasRevoked := revoked[k].Load()
				var st sessionguard.Status
				var err error
				if i%2 == 0 {
					st, err = reader.Validate(ctx, hashes[k], sessionguard.Scope{})
				} else {
					st, err = reader.Peek(ctx, hashes[k], sessionguard.Scope{})
				}
				lookups.Add(1)
				switch {
				case err != nil:
					errs.Add(1)
				case wasRevoked:
					afterRevoke.Add(1)
					if st.Valid() {
						passedAfterRevoke.Add(1)
					}
				}
			}
		}()
	}
	for k := range sessions {
		ok, err := revoker.Revoke(ctx, hashes[k], sessionguard.ReasonAdminRevoke)
		if err != nil || !ok {
			t.Errorf("Revoke: %v %v", ok, err)
		}
		revoked[k].Store(true)
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d lookups (%d after their session's revoke returned) in %d batched and %d single statements",
		lookups.Load(), afterRevoke.Load(), counter.batched.Load(), counter.single.Load())
	if errs.Load() != 0 {
		t.Fatalf("%d lookups failed", errs.Load())
	}
	if passedAfterRevoke.Load() != 0 {
		t.Fatalf("%d lookups that started after the revoke returned were answered valid", passedAfterRevoke.Load())
	}
	if counter.batched.Load() == 0 || afterRevoke.Load() < sessions {
		t.Fatalf("the test did not exercise batches after revokes: %d batched statements, %d lookups after a revoke",
			counter.batched.Load(), afterRevoke.Load())
	}
}

// A database error fails every lookup of the batch closed: an error, never
// a status.
func TestBatchErrorFailsEveryLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	hash, _ := f.create(t, nil)
	if _, err := f.pool.Exec(ctx, "ALTER TABLE sessions RENAME TO sessions_gone"); err != nil {
		t.Fatal(err)
	}
	s, c := countedStore(t, f, pgstore.Config{}, 4)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.Validate(ctx, hash, sessionguard.Scope{})
			if err == nil || st.Valid() || st.State != "" {
				t.Errorf("Validate on a broken database = %+v, %v; want an error and no status", st, err)
				return
			}
			failed.Add(1)
		}()
	}
	wg.Wait()
	if failed.Load() != 32 {
		t.Fatalf("%d of 32 failed", failed.Load())
	}
	t.Logf("%d single and %d batched statements failed", c.single.Load(), c.batched.Load())
}

func TestMaxBatchNegativeIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	if _, err := pgstore.New(f.pool, pgstore.Config{MaxBatch: -1}); !errors.Is(err, pgstore.ErrInvalidArgument) {
		t.Fatal("New accepted MaxBatch -1")
	}
}

// The batched statements (the lookup and the touch) run on PostgreSQL's
// prepared (generic) plan once they have been executed a few times, as lone
// ones do: a plan made anew for each small batch cost the lookup about
// twice what the whole statement takes on its prepared plan (lookup.go,
// BENCHMARKS.md "Natural batching").
func TestBatchedStatementsUsePreparedPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, pgstore.Config{})
	a, _ := f.create(t, nil)
	b, _ := f.create(t, nil)
	for _, tt := range []struct {
		name string
		sql  string
		args []any
	}{
		{"lookup", pgstore.ReadBatchSQL, []any{[]string{a, b}}},
		{"touch", pgstore.WriteBatchSQL, []any{[]string{a, b}, []*string{nil, nil}, []*int64{nil, nil}, 60}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := f.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			for range 10 {
				rows, err := conn.Query(ctx, tt.sql, tt.args...)
				if err != nil {
					t.Fatal(err)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
			}
			var generic, custom int64
			if err := conn.QueryRow(ctx, "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
				tt.sql).Scan(&generic, &custom); err != nil {
				t.Fatalf("not a prepared statement of the connection: %v", err)
			}
			if generic == 0 {
				t.Errorf("10 executions: %d generic plans, %d custom ones; want the generic plan used", generic, custom)
			}
		})
	}
}
