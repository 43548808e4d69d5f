package schema_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// moreAcceptedVariants are differences README lists as adopted that
// sessionsVariants does not have: last_activity_at's DEFAULT now() (the
// README says "for the two timestamps"), and a column of the team's own that
// allows NULL.
var moreAcceptedVariants = []sessionsVariant{
	{name: "last_activity_at DEFAULT now()", edit: []string{
		"last_activity_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP",
		"last_activity_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()"}},
	{name: "a column of the team's that allows NULL", edit: []string{
		"app_type VARCHAR(20) NOT NULL", "device TEXT,\n    app_type VARCHAR(20) NOT NULL"}},
}

// TestAdoptedTablesRunEveryOperation backs README's "Adopted, with every
// operation of pgstore and the seed's functions tested on them": on each
// accepted variant of the sessions table, the operations adoptedStoreWorks
// (TestMigrateChecksSessionsColumns) does not run: re-authentication (031's
// and 032's triggers), every other revocation, the counts, the admin list,
// Stats, the scs data (026) and the seed's three other functions. The two
// variants of moreAcceptedVariants also run adoptedStoreWorks.
func TestAdoptedTablesRunEveryOperation(t *testing.T) {
	t.Parallel()
	var variants []sessionsVariant
	for _, v := range sessionsVariants {
		if v.refused == nil {
			variants = append(variants, v)
		}
	}
	for _, v := range append(variants, moreAcceptedVariants...) {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			pool := variantPool(t, v)
			if err := schema.Migrate(context.Background(), pool); err != nil {
				t.Fatalf("Migrate: %v; want the table adopted", err)
			}
			if adopted, ok := versions(t, pool)[schema.BaseVersion]; !ok || !adopted {
				t.Fatalf("022 recorded %v adopted %v; want adopted", ok, adopted)
			}
			for _, more := range moreAcceptedVariants {
				if more.name == v.name {
					adoptedStoreWorks(t, pool)
				}
			}
			adoptedStoreWorksToo(t, pool)
		})
	}
}

// adoptedStoreWorksToo runs, on an adopted table, the operations of the
// store and the seed's functions that adoptedStoreWorks leaves out.
func adoptedStoreWorksToo(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	user := pgtest.CreateUser(t, pool, "every-operation@example.com", 0)
	store, err := pgstore.New(pool, pgstore.Config{TouchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	scs, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	hash := func(name string) string {
		sum := sha256.Sum256([]byte(name))
		return hex.EncodeToString(sum[:])
	}
	scsKey := func(name string) string {
		sum := sha256.Sum256([]byte(name))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	create := func(name string) sessionguard.SessionInfo {
		t.Helper()
		s, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hash(name), UserID: user, AppType: sessionguard.ControlPanel})
		if err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
		if err := scs.CommitCtx(ctx, scsKey(name), []byte("data of "+name), time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("SCSStore.CommitCtx %s: %v", name, err)
		}
		return s
	}
	valid := func(name string) bool {
		t.Helper()
		st, err := store.Peek(ctx, hash(name), sessionguard.Scope{})
		if err != nil {
			t.Fatalf("Peek %s: %v", name, err)
		}
		return st.Valid()
	}

	first := create("first")
	if b, found, err := scs.FindCtx(ctx, scsKey("first")); err != nil || !found || string(b) != "data of first" {
		t.Fatalf("SCSStore.FindCtx = %q, %v, %v", b, found, err)
	}
	if _, ok, err := store.Reauthenticate(ctx, sessionguard.Reauthentication{SessionID: first.ID,
		OldTokenHash: hash("first"), NewTokenHash: hash("first, rotated")}); err != nil || !ok {
		t.Fatalf("Reauthenticate = %v, %v", ok, err)
	}
	if valid("first") || !valid("first, rotated") {
		t.Fatal("after Reauthenticate, the old token still valid or the new one not")
	}
	if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hash("first"), UserID: user,
		AppType: sessionguard.ControlPanel}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
		t.Fatalf("Create of a rotated-out token = %v, want ErrDuplicateToken", err)
	}
	second, third := create("second"), create("third")
	if n, err := store.CountActive(ctx, pgstore.Selection{UserID: user}); err != nil || n != 3 {
		t.Fatalf("CountActive = %d, %v; want 3", n, err)
	}
	if list, err := store.ListAllActive(ctx, 10); err != nil || len(list) < 3 {
		t.Fatalf("ListAllActive = %d sessions, %v; want 3 or more", len(list), err)
	}
	if _, err := store.Stats(ctx, time.Hour); err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if ended, err := store.RevokeSession(ctx, second.ID, sessionguard.ReasonAdminRevoke); err != nil || !ended || valid("second") {
		t.Fatalf("RevokeSession = %v, %v", ended, err)
	}
	if _, found, err := scs.FindCtx(ctx, scsKey("second")); err != nil || found {
		t.Fatalf("SCSStore.FindCtx of an ended session = %v, %v; want not found", found, err)
	}
	if ended, err := store.RevokeUserSession(ctx, user, third.ID, sessionguard.ReasonLogout); err != nil || !ended || valid("third") {
		t.Fatalf("RevokeUserSession = %v, %v", ended, err)
	}
	kept := create("kept")
	create("fourth")
	if n, err := store.RevokeAllExcept(ctx, user, kept.ID, sessionguard.ReasonPasswordChange); err != nil || n != 2 || !valid("kept") {
		t.Fatalf("RevokeAllExcept = %d, %v; want the 2 others ended", n, err)
	}
	if n, err := store.RevokeEveryone(ctx, sessionguard.ReasonAdminRevoke); err != nil || n == 0 || valid("kept") {
		t.Fatalf("RevokeEveryone = %d, %v", n, err)
	}
	create("scs deleted")
	if err := scs.DeleteCtx(ctx, scsKey("scs deleted")); err != nil || valid("scs deleted") {
		t.Fatalf("SCSStore.DeleteCtx = %v; want its session ended", err)
	}
	if _, err := scs.DeleteExpired(ctx); err != nil {
		t.Fatalf("SCSStore.DeleteExpired: %v", err)
	}

	// The seed's functions adoptedStoreWorks does not call.
	create("seed")
	var ok bool
	if err := pool.QueryRow(ctx, "SELECT update_session_activity($1)", hash("seed")).Scan(&ok); err != nil || !ok {
		t.Fatalf("update_session_activity = %v, %v", ok, err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT revoke_all_user_sessions($1::int)", user).Scan(&n); err != nil || n != 1 {
		t.Fatalf("revoke_all_user_sessions = %d, %v; want 1", n, err)
	}
	if err := pool.QueryRow(ctx, "SELECT cleanup_expired_sessions()").Scan(&n); err != nil {
		t.Fatalf("cleanup_expired_sessions: %v", err)
	}
}
