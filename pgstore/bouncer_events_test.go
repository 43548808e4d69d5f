package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestStoreAcrossPgBouncerEvents: what operators do to a PgBouncer in
// transaction mode — RECONNECT, RELOAD, recycling server connections
// (server_lifetime, server_idle_timeout), PAUSE and RESUME, a restart —
// leaves no library path failing: with the pool as README's "Behind
// PgBouncer" sets it up (cache_describe), no prepared-statement error ever,
// and after a restart each of the pool's connections fails at most once (the
// pool then drops it) before everything works again.
func TestStoreAcrossPgBouncerEvents(t *testing.T) {
	t.Parallel()
	bc, bouncer := pgtest.NewPrivateBounced(t)
	store, err := pgstore.New(bc.Pool, pgstore.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tenant := pgtest.CreateTenant(t, bc.Direct, "acme")
	f := fixture{pool: bc.Pool, store: store, user: pgtest.CreateUser(t, bc.Direct, "alice@acme.example", tenant), tenant: tenant}
	cleaner, err := pgstore.NewCleaner(bc.Pool, pgstore.CleanerConfig{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	scs := newSCSStore(t, f)
	live, _ := f.create(t, nil)

	// ops runs one of each operation and returns the errors.
	ops := func(t *testing.T) []error {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var errs []error
		note := func(err error) {
			if err != nil {
				errs = append(errs, err)
			}
		}
		st, err := store.Validate(ctx, live, sessionguard.Scope{})
		if err == nil && st.State != sessionguard.StateValid {
			t.Fatalf("Validate = %q; want valid", st.State)
		}
		note(err)
		_, err = store.Peek(ctx, live, sessionguard.Scope{})
		note(err)
		h := newHash(t)
		_, err = store.Create(ctx, sessionguard.NewSession{TokenHash: h, UserID: f.user, AppType: sessionguard.ControlPanel})
		note(err)
		if err == nil {
			_, err = store.Revoke(ctx, h, sessionguard.ReasonLogout)
			note(err)
			if st, err := store.Validate(ctx, h, sessionguard.Scope{}); err == nil && st.State != sessionguard.StateRevoked {
				t.Fatalf("Validate of a revoked session = %q; want revoked", st.State)
			}
		}
		_, err = cleaner.RunOnce(ctx)
		note(err)
		tok := newSCSToken(t)
		note(scs.CommitCtx(ctx, tok.key, []byte("data"), time.Now().Add(time.Hour)))
		_, _, err = scs.FindCtx(ctx, tok.key)
		note(err)
		for _, err := range errs {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && (pgErr.Code == "42P05" || pgErr.Code == "26000") {
				t.Fatalf("prepared statement error through PgBouncer: %v", err)
			}
		}
		return errs
	}
	if errs := ops(t); len(errs) > 0 {
		t.Fatalf("before any event: %v", errs)
	}
	for _, ev := range []struct {
		name string
		do   func(t *testing.T)
	}{
		{"RECONNECT", func(t *testing.T) { bouncerAdmin(t, bouncer, "RECONNECT") }},
		{"RELOAD", func(t *testing.T) { bouncerAdmin(t, bouncer, "RELOAD") }},
		{"server connections recycled", func(t *testing.T) {
			bouncerAdmin(t, bouncer, "SET server_lifetime = 1")
			bouncerAdmin(t, bouncer, "SET server_idle_timeout = 1")
			time.Sleep(1500 * time.Millisecond)
		}},
		{"PAUSE and RESUME", func(t *testing.T) {
			bouncerAdmin(t, bouncer, "PAUSE")
			type answer struct {
				st  sessionguard.Status
				err error
			}
			done := make(chan answer, 1)
			go func() { // queued until RESUME
				st, err := store.Validate(t.Context(), live, sessionguard.Scope{})
				done <- answer{st, err}
			}()
			time.Sleep(200 * time.Millisecond)
			bouncerAdmin(t, bouncer, "RESUME")
			if a := <-done; a.err != nil || a.st.State != sessionguard.StateValid {
				t.Errorf("Validate queued across PAUSE and RESUME = %q, %v; want valid", a.st.State, a.err)
			}
		}},
		{"restart", func(t *testing.T) {
			if err := bouncer.Restart(t.Context()); err != nil {
				t.Fatal(err)
			}
			// Each connection the pool held is dead; the pool drops one at
			// its first failure.
			held := bc.Pool.Stat().TotalConns()
			for failed := int32(0); ; {
				errs := ops(t)
				if len(errs) == 0 {
					t.Logf("%d failures after the restart (the pool held %d connections)", failed, held)
					return
				}
				if failed += int32(len(errs)); failed > held {
					t.Fatalf("%d failures after the restart, more than the %d connections the pool held: %v", failed, held, errs)
				}
			}
		}},
	} {
		t.Run(ev.name, func(t *testing.T) {
			ev.do(t)
			if errs := ops(t); len(errs) > 0 {
				t.Fatalf("after %s: %v", ev.name, errs)
			}
		})
	}
}
