package schema_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// seedWith is the seed file with its sessions table edited, as a team's own
// copy of migration 022 may have it: each pair replaces text of the CREATE
// TABLE (never of the functions after it).
func seedWith(t testing.TB, pairs ...string) string {
	t.Helper()
	seed := schema.Migrations()[0].SQL
	end := strings.Index(seed, "CREATE INDEX")
	table, rest := seed[:end], seed[end:]
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(table, pairs[i]) {
			t.Fatalf("the seed's sessions table has no %q", pairs[i])
		}
		table = strings.ReplaceAll(table, pairs[i], pairs[i+1])
	}
	return table + rest
}

// sessionsVariant is a team's sessions table that differs from the seed's.
type sessionsVariant struct {
	name    string
	bigint  bool     // users.id and tenants.id are BIGINT (bigintFixture)
	edit    []string // seedWith's pairs
	refused []string // what the refusal says; nil when the table is adopted
}

// sessionsVariants are the differences found in teams' copies of 022. The
// refused ones break the library or change what its answers mean; the
// accepted ones run every operation of the store (adoptedStoreWorks).
var sessionsVariants = []sessionsVariant{
	// Accepted: wider text columns, and no default for an id pgstore supplies.
	{name: "token hash TEXT", edit: []string{"session_token_hash VARCHAR(64)", "session_token_hash TEXT"}},
	{name: "token hash VARCHAR(128)", edit: []string{"session_token_hash VARCHAR(64)", "session_token_hash VARCHAR(128)"}},
	{name: "id without default", edit: []string{"id UUID PRIMARY KEY DEFAULT gen_random_uuid()", "id UUID PRIMARY KEY"}},
	{name: "ip_address TEXT", edit: []string{"ip_address VARCHAR(45)", "ip_address TEXT"}},
	{name: "user_agent VARCHAR(512)", edit: []string{"user_agent TEXT", "user_agent VARCHAR(512)"}},
	{name: "revoke_reason TEXT", edit: []string{"revoke_reason VARCHAR(50)", "revoke_reason TEXT"}},
	{name: "app_type VARCHAR(32)", edit: []string{"app_type VARCHAR(20)", "app_type VARCHAR(32)"}},
	{name: "a column of the team's with a default", edit: []string{
		"app_type VARCHAR(20) NOT NULL", "device TEXT NOT NULL DEFAULT 'web',\n    app_type VARCHAR(20) NOT NULL"}},
	{name: "revoke_reason CHECK of its length", edit: []string{
		"revoke_reason VARCHAR(50)", "revoke_reason VARCHAR(50) CHECK (length(revoke_reason) > 0)"}},
	{name: "timestamps to the second", edit: []string{"TIMESTAMP WITH TIME ZONE", "TIMESTAMP(0) WITH TIME ZONE"}},
	{name: "VARCHAR without a length", edit: []string{"VARCHAR(64)", "VARCHAR", "VARCHAR(45)", "VARCHAR", "VARCHAR(50)", "VARCHAR", "VARCHAR(20)", "VARCHAR"}},
	{name: "created_at DEFAULT now()", edit: []string{
		"created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP",
		"created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()"}},

	// Refused: sessionguard_check and get_session_status return user_id and
	// tenant_id as INTEGER, and fail on every row of a BIGINT column.
	{name: "user_id BIGINT", bigint: true, edit: []string{"user_id INTEGER", "user_id BIGINT"},
		refused: []string{"user_id is bigint, want integer"}},
	{name: "tenant_id BIGINT", bigint: true, edit: []string{"tenant_id INTEGER", "tenant_id BIGINT"},
		refused: []string{"tenant_id is bigint, want integer"}},
	// pgstore writes and reads a UUID.
	{name: "id SERIAL", edit: []string{"id UUID PRIMARY KEY DEFAULT gen_random_uuid()", "id SERIAL PRIMARY KEY"},
		refused: []string{"id is integer, want uuid"}},
	// Read in each connection's TimeZone, and sessionguard_check returns
	// them as timestamptz.
	{name: "timestamps without time zone", edit: []string{"TIMESTAMP WITH TIME ZONE", "TIMESTAMP"},
		refused: []string{
			"created_at is timestamp without time zone, want timestamp with time zone",
			"last_activity_at is timestamp without time zone",
			"absolute_expires_at is timestamp without time zone",
			"revoked_at is timestamp without time zone",
			"ended_at is timestamp without time zone",
		}},
	{name: "token hash VARCHAR(32)", edit: []string{"session_token_hash VARCHAR(64)", "session_token_hash VARCHAR(32)"},
		refused: []string{"session_token_hash is character varying(32), want character varying(64)"}},
	{name: "token hash CHAR(64)", edit: []string{"session_token_hash VARCHAR(64)", "session_token_hash CHAR(64)"},
		refused: []string{"session_token_hash is character(64), want character varying(64)"}},
	{name: "app_type TEXT", edit: []string{"app_type VARCHAR(20)", "app_type TEXT"},
		refused: []string{"app_type is text, want character varying(20)"}},
	{name: "ip_address INET", edit: []string{"ip_address VARCHAR(45)", "ip_address INET"},
		refused: []string{"ip_address is inet, want character varying(45)"}},
	{name: "user_agent VARCHAR(255)", edit: []string{"user_agent TEXT", "user_agent VARCHAR(255)"},
		refused: []string{"user_agent is character varying(255), want text"}},
	{name: "revoke_reason VARCHAR(20)", edit: []string{"revoke_reason VARCHAR(50)", "revoke_reason VARCHAR(20)"},
		refused: []string{"revoke_reason is character varying(20), want character varying(50)"}},
	{name: "is_active nullable", edit: []string{"is_active BOOLEAN NOT NULL", "is_active BOOLEAN"},
		refused: []string{"is_active allows NULL, want NOT NULL"}},
	{name: "absolute_expires_at nullable", edit: []string{
		"absolute_expires_at TIMESTAMP WITH TIME ZONE NOT NULL", "absolute_expires_at TIMESTAMP WITH TIME ZONE"},
		refused: []string{"absolute_expires_at allows NULL, want NOT NULL"}},
	{name: "is_active DEFAULT false", edit: []string{"is_active BOOLEAN NOT NULL DEFAULT true", "is_active BOOLEAN NOT NULL DEFAULT false"},
		refused: []string{"is_active has DEFAULT false, want DEFAULT true"}},
	// pgstore's insert sets only its own columns.
	{name: "a column of the team's NOT NULL without default", edit: []string{
		"app_type VARCHAR(20) NOT NULL", "device TEXT NOT NULL,\n    app_type VARCHAR(20) NOT NULL"},
		refused: []string{"device is NOT NULL without a DEFAULT"}},
	// Each token hash names one session, and pgstore tells a taken one
	// (ErrDuplicateToken) by the constraint's name.
	{name: "token hash not UNIQUE", edit: []string{"session_token_hash VARCHAR(64) NOT NULL UNIQUE", "session_token_hash VARCHAR(64) NOT NULL"},
		refused: []string{"session_token_hash has no UNIQUE constraint sessions_session_token_hash_key"}},
	{name: "token hash UNIQUE by another name", edit: []string{
		"session_token_hash VARCHAR(64) NOT NULL UNIQUE", "session_token_hash VARCHAR(64) NOT NULL CONSTRAINT sessions_token_unique UNIQUE"},
		refused: []string{"session_token_hash has no UNIQUE constraint sessions_session_token_hash_key"}},
	// Each session id names one session, and pgstore tells a taken one
	// (a session-id claim recorded twice) by the primary key's name.
	{name: "id not a primary key", edit: []string{"id UUID PRIMARY KEY DEFAULT gen_random_uuid()", "id UUID NOT NULL DEFAULT gen_random_uuid()"},
		refused: []string{"id has no PRIMARY KEY sessions_pkey"}},
	{name: "primary key by another name", edit: []string{
		"id UUID PRIMARY KEY DEFAULT gen_random_uuid()", "id UUID CONSTRAINT sessions_id_pk PRIMARY KEY DEFAULT gen_random_uuid()"},
		refused: []string{"id has no PRIMARY KEY sessions_pkey"}},
	// The seed's comment lists six reasons; pgstore also records
	// session_limit (a SessionLimit ending a session to make room).
	{name: "revoke_reason CHECK of the seed's six", edit: []string{"revoke_reason VARCHAR(50)",
		"revoke_reason VARCHAR(50) CONSTRAINT seed_reasons CHECK (revoke_reason IN ('logout', 'idle_timeout', 'absolute_timeout', 'admin_revoke', 'password_change', 'cleanup_stale'))"},
		refused: []string{"revoke_reason has CHECK constraint seed_reasons, which refuses 'session_limit'"}},
	{name: "created_at without default", edit: []string{
		"created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP", "created_at TIMESTAMP WITH TIME ZONE NOT NULL"},
		refused: []string{"created_at has no DEFAULT, want DEFAULT CURRENT_TIMESTAMP"}},
}

// variantPool is a database whose sessions table is v's, made by running
// the edited seed by hand.
func variantPool(t *testing.T, v sessionsVariant) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewBarePool(t)
	if v.bigint {
		pool = pgtest.NewEmptyPool(t)
		if _, err := pool.Exec(ctx, bigintFixture); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, seedWith(t, v.edit...)); err != nil {
		t.Fatalf("the team's 022: %v", err)
	}
	return pool
}

// TestMigrateChecksSessionsColumns: adoption looks at each column's type,
// NOT NULL and default, not only its name. A difference that breaks the
// store or changes what its answers mean stops Migrate with
// ErrForeignSessionsTable, naming the column and what 022 gives it, before
// anything is recorded or changed; a difference shown to work is adopted and
// every operation of the store works on it.
func TestMigrateChecksSessionsColumns(t *testing.T) {
	t.Parallel()
	for _, v := range sessionsVariants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := variantPool(t, v)
			err := schema.Migrate(ctx, pool)
			if v.refused == nil {
				if err != nil {
					t.Fatalf("Migrate: %v; want the table adopted", err)
				}
				if adopted, ok := versions(t, pool)[schema.BaseVersion]; !ok || !adopted {
					t.Fatalf("022 recorded %v adopted %v; want adopted", ok, adopted)
				}
				adoptedStoreWorks(t, pool)
				return
			}
			if !errors.Is(err, schema.ErrForeignSessionsTable) {
				t.Fatalf("Migrate = %v; want ErrForeignSessionsTable", err)
			}
			for _, want := range v.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Migrate's error %q does not say %q", err, want)
				}
			}
			if got := versions(t, pool); len(got) != 0 {
				t.Errorf("a refused adoption recorded %v", got)
			}
			var altered bool
			if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute
				WHERE attrelid = 'sessions'::regclass AND attname = 'idle_timeout_seconds')`).Scan(&altered); err != nil || altered {
				t.Errorf("a refused adoption altered the table (%v)", err)
			}
		})
	}
}

// adoptedStoreWorks runs every operation of the store, and the seed's
// functions, on an adopted table.
func adoptedStoreWorks(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	tenant := pgtest.CreateTenant(t, pool, "acme")
	user := pgtest.CreateUser(t, pool, "team@example.com", tenant)
	// A negative TouchInterval writes on every Validate: sessionguard_check runs.
	store, err := pgstore.New(pool, pgstore.Config{TouchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	scope := sessionguard.Scope{AppType: sessionguard.TenantApp, TenantID: tenant}
	hashes := []string{strings.Repeat("c1", 32), strings.Repeat("c2", 32), strings.Repeat("c3", 32)}
	for _, h := range hashes {
		_, err := store.Create(ctx, sessionguard.NewSession{TokenHash: h, UserID: user, TenantID: tenant,
			AppType: sessionguard.TenantApp, IP: "2001:db8::1", UserAgent: strings.Repeat("Mozilla ", 80)})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if _, err := store.Create(ctx, sessionguard.NewSession{TokenHash: hashes[0], UserID: user, AppType: sessionguard.ControlPanel}); !errors.Is(err, sessionguard.ErrDuplicateToken) {
		t.Errorf("Create with a taken hash = %v, want ErrDuplicateToken", err)
	}
	if st, err := store.Validate(ctx, hashes[0], scope); err != nil || !st.Valid() || st.UserID != user {
		t.Fatalf("Validate = %+v, %v; want valid", st, err)
	}
	if st, err := store.Peek(ctx, hashes[0], sessionguard.Scope{AppType: sessionguard.ControlPanel}); err != nil || st.State != sessionguard.StateWrongApp {
		t.Errorf("Peek from the other app = %v, %v; want wrong app", st.State, err)
	}
	if list, err := store.ListActive(ctx, user); err != nil || len(list) != len(hashes) {
		t.Fatalf("ListActive = %d sessions, %v; want %d", len(list), err, len(hashes))
	}
	var valid bool
	var seedUser int64
	if err := pool.QueryRow(ctx, "SELECT is_valid, user_id FROM get_session_status($1)", hashes[1]).Scan(&valid, &seedUser); err != nil || !valid || seedUser != user {
		t.Errorf("get_session_status = %v, user %d, %v; want valid", valid, seedUser, err)
	}
	if ended, err := store.Revoke(ctx, hashes[0], sessionguard.ReasonLogout); err != nil || !ended {
		t.Errorf("Revoke = %v, %v", ended, err)
	}
	if st, err := store.Validate(ctx, hashes[0], scope); err != nil || st.State != sessionguard.StateRevoked || st.EndReason != sessionguard.ReasonLogout {
		t.Errorf("Validate after Revoke = %v %q, %v; want revoked by logout", st.State, st.EndReason, err)
	}
	if err := pool.QueryRow(ctx, "SELECT revoke_session($1)", hashes[1]).Scan(&valid); err != nil || !valid {
		t.Errorf("revoke_session = %v, %v", valid, err)
	}
	if n, err := store.RevokeAll(ctx, user, "password_change"); err != nil || n != 1 {
		t.Errorf("RevokeAll = %d, %v; want 1", n, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE sessions SET is_active = true, revoked_at = NULL, ended_at = NULL, revoke_reason = NULL,
		absolute_expires_at = now() - interval '1 second' WHERE session_token_hash = $1`, hashes[2]); err != nil {
		t.Fatal(err)
	}
	if n, err := store.Cleanup(ctx); err != nil || n != 1 {
		t.Errorf("Cleanup = %d, %v; want 1", n, err)
	}
	// A session limit ends the oldest session with its own reason.
	for _, h := range []string{strings.Repeat("c4", 32), strings.Repeat("c5", 32)} {
		_, err := store.Create(ctx, sessionguard.NewSession{TokenHash: h, UserID: user, AppType: sessionguard.ControlPanel,
			Limit: sessionguard.SessionLimit{Max: 1}})
		if err != nil {
			t.Fatalf("Create with a session limit: %v", err)
		}
	}
	if st, err := store.Peek(ctx, strings.Repeat("c4", 32), sessionguard.Scope{}); err != nil || st.EndReason != sessionguard.ReasonSessionLimit {
		t.Errorf("the session over the limit: %v %q, %v; want ended by %s", st.State, st.EndReason, err, sessionguard.ReasonSessionLimit)
	}
	cleaner, err := pgstore.NewCleaner(pool, pgstore.CleanerConfig{Retention: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cleaner.RunOnce(ctx); err != nil {
		t.Errorf("Cleaner: %v", err)
	}
}

// TestTimestampWithoutTimeZoneMovesExpiry shows why adoption refuses
// timestamps without time zone: on the seed's own functions, a session
// created by a connection whose TimeZone is UTC, eight hours from its
// absolute expiry, has already expired for a connection in Asia/Tokyo
// (UTC+9), which reads the stored wall-clock time as Tokyo's.
func TestTimestampWithoutTimeZoneMovesExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := variantPool(t, sessionsVariant{edit: []string{"TIMESTAMP WITH TIME ZONE", "TIMESTAMP"}})
	user := pgtest.CreateUser(t, pool, "zone@example.com", 0)
	inZone := func(zone string) *pgxpool.Pool {
		cfg := pool.Config().Copy()
		cfg.ConnConfig.RuntimeParams["timezone"] = zone
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	hash := strings.Repeat("d1", 32)
	if _, err := inZone("UTC").Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at)
		VALUES ($1, $2, CURRENT_TIMESTAMP + interval '8 hours')`, user, hash); err != nil {
		t.Fatal(err)
	}
	var valid bool
	var reason *string
	if err := inZone("Asia/Tokyo").QueryRow(ctx, "SELECT is_valid, expiry_reason FROM get_session_status($1)", hash).Scan(&valid, &reason); err != nil {
		t.Fatal(err)
	}
	if valid || reason == nil || *reason != "absolute" {
		t.Fatalf("get_session_status in Asia/Tokyo = valid %v reason %v; the test expects the nine-hour shift to end the session", valid, reason)
	}
}

// TestToolsCheckSessionsColumns: each tool's form of 022 makes Migrate's
// check of the columns, in SQL: a refused table stops the tool's run with the
// same words and nothing of sessionguard's is left, an accepted one is
// adopted and the store works on it.
func TestToolsCheckSessionsColumns(t *testing.T) {
	t.Parallel()
	picked := map[string]bool{"token hash TEXT": true, "user_id BIGINT": true, "timestamps without time zone": true,
		"is_active nullable": true, "created_at without default": true, "revoke_reason CHECK of the seed's six": true}
	for _, tool := range migrationTools {
		for _, v := range sessionsVariants {
			if !picked[v.name] {
				continue
			}
			t.Run(tool.name+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				pool := variantPool(t, v)
				if v.refused == nil {
					tool.upAll(t, pool, tool.inTeamSequence(t), "")
					if rows := ledger(t, pool); len(rows) == 0 || !rows[0].Adopted {
						t.Fatalf("ledger %+v: want 022 recorded first, as adopted", rows[:min(1, len(rows))])
					}
					adoptedStoreWorks(t, pool)
					return
				}
				ft := &failRecorder{TB: t}
				tool.upAll(ft, pool, tool.inTeamSequence(t), "")
				for _, want := range v.refused {
					if !strings.Contains(ft.msg, want) {
						t.Errorf("%s up: %q; want a refusal with %q", tool.name, ft.msg, want)
					}
				}
				var left bool
				if err := pool.QueryRow(ctx, `SELECT to_regclass('sessionguard_schema_migrations') IS NOT NULL
					OR EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'sessions'::regclass AND attname = 'idle_timeout_seconds')`).Scan(&left); err != nil || left {
					t.Errorf("the refused migration left sessionguard's objects behind (%v)", err)
				}
			})
		}
	}
}

// TestRefusedTypesBreakTheFunctions shows why adoption refuses these
// types: applied by hand anyway, 023's sessionguard_check (every Validate
// that writes) and 022's own get_session_status fail on a row of such a
// table, as their declared result types do not match the columns'.
func TestRefusedTypesBreakTheFunctions(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"user_id BIGINT", "tenant_id BIGINT", "timestamps without time zone", "app_type TEXT"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var v sessionsVariant
			for _, c := range sessionsVariants {
				if c.name == name {
					v = c
				}
			}
			pool := variantPool(t, v)
			if _, err := pool.Exec(ctx, schema.Migrations()[1].SQL); err != nil {
				t.Fatalf("023 by hand: %v", err)
			}
			tenant := pgtest.CreateTenant(t, pool, "acme")
			user := pgtest.CreateUser(t, pool, "types@example.com", tenant)
			hash := strings.Repeat("e1", 32)
			if _, err := pool.Exec(ctx, `INSERT INTO sessions (user_id, tenant_id, session_token_hash, absolute_expires_at)
				VALUES ($1, $2, $3, now() + interval '8 hours')`, user, tenant, hash); err != nil {
				t.Fatal(err)
			}
			_, err := pool.Exec(ctx, "SELECT * FROM sessionguard_check($1)", hash)
			if err == nil || !strings.Contains(err.Error(), "42804") {
				t.Errorf("sessionguard_check = %v; want SQLSTATE 42804 (result type mismatch)", err)
			}
			if name == "user_id BIGINT" || name == "tenant_id BIGINT" {
				if _, err := pool.Exec(ctx, "SELECT * FROM get_session_status($1)", hash); err == nil || !strings.Contains(err.Error(), "42804") {
					t.Errorf("get_session_status = %v; want SQLSTATE 42804", err)
				}
			}
		})
	}
}
