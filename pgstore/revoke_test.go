package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

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
