package schema_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// TestAppRoleGrantsAfterAdoption: the usual field setup. A DBA's role owns
// the seed's sessions table and runs Migrate; the application connects as a
// role of its own, with no CREATE anywhere. The grants the seed needed (DML
// on sessions) no longer let it end a session: 026's trigger deletes the
// session's scs data with the ending role's privileges. With the grants
// README lists ("The schema", roles), every operation works.
func TestAppRoleGrantsAfterAdoption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		grants []string
		works  bool
	}{
		{"the seed's grants", []string{"SELECT, INSERT, UPDATE, DELETE ON sessions"}, false},
		{"README's grants", []string{
			"SELECT, INSERT, UPDATE, DELETE ON sessions",
			"SELECT, INSERT, UPDATE, DELETE ON sessionguard_scs_data",
			"SELECT ON sessionguard_schema_migrations",
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			owner, _ := startingPoint(t, seedByHand)
			if err := schema.Migrate(ctx, owner); err != nil {
				t.Fatal(err)
			}
			role := pgtest.NewRole(t, owner)
			for _, g := range append([]string{"REVOKE CREATE ON SCHEMA public FROM PUBLIC"}, tt.grants...) {
				if !strings.HasPrefix(g, "REVOKE") {
					g = "GRANT " + g + " TO " + role
				}
				if _, err := owner.Exec(ctx, g); err != nil {
					t.Fatalf("%s: %v", g, err)
				}
			}
			app := pgtest.PoolAs(t, owner, role)
			user := pgtest.CreateUser(t, owner, "role@example.com", 0)
			hash := strings.Repeat("a7", 32)

			if !tt.works {
				store, err := pgstore.New(app, pgstore.Config{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
					t.Fatalf("Create: %v", err)
				}
				if _, err := store.Revoke(ctx, hash, sessionguard.ReasonLogout); err == nil || !strings.Contains(err.Error(), "42501") {
					t.Fatalf("Revoke with %s = %v; want SQLSTATE 42501 (no privilege on sessionguard_scs_data)", tt.name, err)
				}
				return
			}
			if err := schema.Migrate(ctx, app); err != nil {
				t.Fatalf("Migrate as the application's role: %v", err)
			}
			store, err := pgstore.New(app, pgstore.Config{TouchInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			if st, err := store.Validate(ctx, hash, sessionguard.Scope{}); err != nil || !st.Valid() {
				t.Fatalf("Validate = %v, %v", st.State, err)
			}
			if _, err := store.ListActive(ctx, user); err != nil {
				t.Fatalf("ListActive: %v", err)
			}
			if ended, err := store.Revoke(ctx, hash, sessionguard.ReasonLogout); err != nil || !ended {
				t.Fatalf("Revoke = %v, %v", ended, err)
			}
			if _, err := store.Cleanup(ctx); err != nil {
				t.Fatalf("Cleanup: %v", err)
			}
			cleaner, err := pgstore.NewCleaner(app, pgstore.CleanerConfig{Retention: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cleaner.RunOnce(ctx); err != nil {
				t.Fatalf("Cleaner: %v", err)
			}
			scs, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
			if err != nil {
				t.Fatal(err)
			}
			key := sha256.Sum256([]byte("an anonymous scs token"))
			if err := scs.CommitCtx(ctx, base64.RawURLEncoding.EncodeToString(key[:]), []byte("data"), time.Now().Add(time.Hour)); err != nil {
				t.Fatalf("SCSStore.CommitCtx: %v", err)
			}
		})
	}
}
