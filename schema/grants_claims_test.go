package schema_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// readmeGrants returns the GRANT statements of README's "Roles" paragraph,
// for role instead of "app": the test runs what the README tells a DBA to
// run, so a grant the text drops or renames is caught here.
func readmeGrants(t *testing.T, role string) []string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "**Roles.**")
	if start < 0 {
		t.Fatal(`README has no "**Roles.**" paragraph`)
	}
	block := regexp.MustCompile("(?s)```sql\n(.*?)```").FindStringSubmatch(text[start:])
	if block == nil {
		t.Fatal(`README's "Roles" paragraph has no sql block`)
	}
	var grants []string
	for _, line := range strings.Split(block[1], "\n") {
		stmt, _, _ := strings.Cut(line, "--")
		stmt = strings.TrimSuffix(strings.TrimSpace(stmt), ";")
		if stmt == "" {
			continue
		}
		if !strings.HasPrefix(stmt, "GRANT ") || !strings.HasSuffix(stmt, " TO app") {
			t.Fatalf("README's roles block has %q, not a GRANT … TO app", stmt)
		}
		grants = append(grants, strings.TrimSuffix(stmt, " TO app")+" TO "+role)
	}
	if len(grants) == 0 {
		t.Fatal("README's roles block grants nothing")
	}
	return grants
}

// TestAppRoleReadmeGrantsCoverEveryOperation backs README's "Roles"
// paragraph as written: with the grants it lists and nothing else, the
// application's role runs every operation of pgstore's Store, Cleaner and
// SCSStore ("and every operation of pgstore works, SCSStore included"), and
// the seed's five functions ("executable by everyone, as PostgreSQL creates
// them"). TestAppRoleGrantsAfterAdoption covers the most common operations;
// this covers the rest: the session limit's ending of the oldest session,
// re-authentication, a sign-out by the token it retired, every revocation,
// the counts and lists, the Cleaner's purge and scs's reads and deletes.
func TestAppRoleReadmeGrantsCoverEveryOperation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	owner, _ := startingPoint(t, seedByHand)
	if err := schema.Migrate(ctx, owner); err != nil {
		t.Fatal(err)
	}
	role := pgtest.NewRole(t, owner)
	for _, g := range append([]string{"REVOKE CREATE ON SCHEMA public FROM PUBLIC"}, readmeGrants(t, role)...) {
		if _, err := owner.Exec(ctx, g); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	app := pgtest.PoolAs(t, owner, role)
	if err := schema.Migrate(ctx, app); err != nil {
		t.Fatalf("Migrate as the application's role: %v", err)
	}
	user := pgtest.CreateUser(t, owner, "grants@example.com", 0)
	store, err := pgstore.New(app, pgstore.Config{TouchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	hashes := make(map[string]string)
	hash := func(name string) string {
		if hashes[name] == "" {
			sum := sha256.Sum256([]byte(name))
			hashes[name] = hex.EncodeToString(sum[:])
		}
		return hashes[name]
	}
	create := func(name string, limit sessionguard.SessionLimit) sessionguard.SessionInfo {
		t.Helper()
		s, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hash(name), UserID: user,
			AppType: sessionguard.ControlPanel, Limit: limit})
		if err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
		return s
	}
	scsKey := func(name string) string {
		sum := sha256.Sum256([]byte(name))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}

	// Each signed-in session has scs data, so that every way of ending it
	// deletes from sessionguard_scs_data through 026's trigger.
	scs, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	withData := func(name string) sessionguard.SessionInfo {
		t.Helper()
		s := create(name, sessionguard.SessionLimit{})
		if err := scs.CommitCtx(ctx, scsKey(name), []byte("data"), time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("SCSStore.CommitCtx %s: %v", name, err)
		}
		return s
	}

	first := withData("first")
	withData("second")
	// At the limit of two, a third sign-in ends the least recently active.
	third := create("third", sessionguard.SessionLimit{Max: 2})
	if st, err := store.Peek(ctx, hash("first"), sessionguard.Scope{}); err != nil || st.State == sessionguard.StateValid {
		t.Fatalf("Peek of the session the limit ended = %q, %v; want it ended", st.State, err)
	}
	if _, found, err := scs.FindCtx(ctx, scsKey("second")); err != nil || !found {
		t.Fatalf("SCSStore.FindCtx = %v, %v", found, err)
	}
	if _, err := scs.AllCtx(ctx); err != nil {
		t.Fatalf("SCSStore.AllCtx: %v", err)
	}
	if _, ok, err := store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: third.ID,
		OldTokenHash: hash("third"), NewTokenHash: hash("third, rotated")}); err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
	// A sign-out by the token the rotation retired reads the retired hashes.
	if ended, err := store.SignOut(ctx, hash("third")); err != nil || !ended {
		t.Fatalf("SignOut by a retired token = %v, %v", ended, err)
	}
	if _, err := store.ListAllActive(ctx, 10); err != nil {
		t.Fatalf("ListAllActive: %v", err)
	}
	if _, err := store.CountActive(ctx, pgstore.Selection{UserID: user}); err != nil {
		t.Fatalf("CountActive: %v", err)
	}
	if _, err := store.Stats(ctx, time.Hour); err != nil {
		t.Fatalf("Stats: %v", err)
	}

	s4, s5 := withData("fourth"), withData("fifth")
	if ended, err := store.RevokeSession(ctx, s4.ID, sessionguard.ReasonAdminRevoke); err != nil || !ended {
		t.Fatalf("RevokeSession = %v, %v", ended, err)
	}
	if ended, err := store.RevokeUserSession(ctx, user, s5.ID, sessionguard.ReasonLogout); err != nil || !ended {
		t.Fatalf("RevokeUserSession = %v, %v", ended, err)
	}
	keep := withData("kept")
	withData("sixth")
	if n, err := store.RevokeAllExcept(ctx, user, keep.ID, sessionguard.ReasonPasswordChange); err != nil || n == 0 {
		t.Fatalf("RevokeAllExcept = %d, %v", n, err)
	}
	if n, err := store.RevokeAll(ctx, user, "account_disabled"); err != nil || n == 0 {
		t.Fatalf("RevokeAll = %d, %v", n, err)
	}
	withData("seventh")
	if n, err := store.RevokeEveryone(ctx, sessionguard.ReasonAdminRevoke); err != nil || n == 0 {
		t.Fatalf("RevokeEveryone = %d, %v", n, err)
	}
	withData("eighth")
	if err := scs.DeleteCtx(ctx, scsKey("eighth")); err != nil {
		t.Fatalf("SCSStore.DeleteCtx: %v", err)
	}
	if _, err := scs.DeleteExpired(ctx); err != nil {
		t.Fatalf("SCSStore.DeleteExpired: %v", err)
	}

	// The seed's functions, as the application's role.
	withData("seed")
	for _, q := range []string{
		"SELECT count(*) FROM get_session_status($1)",
		"SELECT update_session_activity($1)::int",
		"SELECT revoke_session($1, 'logout')::int",
	} {
		var n int
		if err := app.QueryRow(ctx, q, hash("seed")).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s as the application's role = %d, %v", q, n, err)
		}
	}
	withData("seed, all")
	var n int
	if err := app.QueryRow(ctx, "SELECT revoke_all_user_sessions($1::int, 'password_change')", user).Scan(&n); err != nil || n != 1 {
		t.Fatalf("revoke_all_user_sessions as the application's role = %d, %v", n, err)
	}
	if err := app.QueryRow(ctx, "SELECT cleanup_expired_sessions()").Scan(&n); err != nil {
		t.Fatalf("cleanup_expired_sessions as the application's role: %v", err)
	}

	// The Cleaner's purge deletes every ended row, with its retired hashes
	// and scs data (033's statement triggers).
	if _, err := store.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	cleaner, err := pgstore.NewCleaner(app, pgstore.CleanerConfig{Retention: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cleaner.RunOnce(ctx)
	if err != nil || res.Purged == 0 {
		t.Fatalf("Cleaner.RunOnce = %+v, %v; want ended rows purged", res, err)
	}
	var left int
	if err := owner.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE id = $1", first.ID).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows of the first session after the purge (%v), want 0", left, err)
	}
}
