package schema_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
	"github.com/sessionguard/sessionguard/schema"
)

// TestDirectEndRecordsWhenTheSessionEnded: an older service ends sessions
// with an UPDATE of its own, as the seed lets it, naming only what it cares
// about (is_active, perhaps a reason). A row ended without ended_at was in
// no count of pgstore's Stats ("why sessions ended") and never purged by the
// Cleaner, which deletes ended rows by ended_at: it stayed forever, and with
// it the hashes its re-authentications had retired (031). The end time is
// now filled in when the statement gives none; the reason stays as the
// statement gave it (NULL: none, which a CHECK of your own on revoke_reason
// lets through).
func TestDirectEndRecordsWhenTheSessionEnded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, end  string
		wantReason string // "" for NULL
		endedAgo   time.Duration
	}{
		{"is_active alone", "UPDATE sessions SET is_active = false WHERE session_token_hash = $1", "", 0},
		{"with a reason and revoked_at",
			"UPDATE sessions SET is_active = false, revoked_at = CURRENT_TIMESTAMP - interval '1 minute', revoke_reason = 'admin_revoke' WHERE session_token_hash = $1",
			"admin_revoke", time.Minute},
		{"with its own ended_at",
			"UPDATE sessions SET is_active = false, ended_at = CURRENT_TIMESTAMP - interval '1 day', revoke_reason = 'logout' WHERE session_token_hash = $1",
			"logout", 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			user := pgtest.CreateUser(t, pool, "direct@example.com", 0)
			// A re-authenticated session: its first token's hash is retired.
			first := fleetSession{tt.name + ", first token", time.Hour, 0, time.Hour}.insert(t, pool, user)
			hash := fleetHash(tt.name)
			if _, err := pool.Exec(ctx, "UPDATE sessions SET session_token_hash = $2 WHERE session_token_hash = $1", first, hash); err != nil {
				t.Fatal(err)
			}

			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			var at time.Time
			if err := tx.QueryRow(ctx, "SELECT CURRENT_TIMESTAMP").Scan(&at); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, tt.end, hash); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			var endedAt, revokedAt *time.Time
			var reason *string
			if err := pool.QueryRow(ctx, "SELECT ended_at, revoked_at, revoke_reason FROM sessions WHERE session_token_hash = $1", hash).
				Scan(&endedAt, &revokedAt, &reason); err != nil {
				t.Fatal(err)
			}
			want := at.Add(-tt.endedAgo)
			if endedAt == nil || !endedAt.Equal(want) {
				t.Errorf("ended_at = %v, want %v", endedAt, want)
			}
			if revokedAt == nil {
				t.Error("revoked_at is NULL")
			}
			if got := deref(reason); got != tt.wantReason {
				t.Errorf("revoke_reason = %q, want %q", got, tt.wantReason)
			}

			store, err := pgstore.New(pool, pgstore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := store.Stats(ctx, 48*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(st.Ended, pgstore.ReasonCount{Reason: tt.wantReason, Count: 1}) {
				t.Errorf("Stats.Ended = %v, want %q counted once", st.Ended, tt.wantReason)
			}

			time.Sleep(1100 * time.Millisecond) // past a retention of one second
			cleaner, err := pgstore.NewCleaner(pool, pgstore.CleanerConfig{Retention: time.Second, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := cleaner.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Purged != 1 {
				t.Errorf("the Cleaner purged %d rows, want the ended one", res.Purged)
			}
			var retired int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_retired_tokens WHERE token_hash = $1", first).Scan(&retired); err != nil {
				t.Fatal(err)
			}
			if retired != 0 {
				t.Error("the retired hash outlived its purged session")
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestEndTimeRecordedForSessionsEndedBefore037: the rows an older service
// had ended without an end time before migration 037 stay in no count and
// are never purged, with the hashes their re-authentications retired, as
// long as nothing gives them one: 037's trigger only sees ends after it. 037
// gives them the end time its trigger would have (the revoked_at the
// statement gave, else the migration's time), so the Cleaner purges them
// after its retention.
func TestEndTimeRecordedForSessionsEndedBefore037(t *testing.T) {
	t.Parallel()
	var m037 schema.Migration
	for _, m := range schema.Migrations() {
		if m.Version == 37 {
			m037 = m
		}
	}
	for _, tt := range []struct {
		name, end string
	}{
		{"is_active alone", "UPDATE sessions SET is_active = false WHERE session_token_hash = $1"},
		{"with revoked_at", "UPDATE sessions SET is_active = false, revoked_at = now() - interval '1 minute' WHERE session_token_hash = $1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			if _, err := pool.Exec(ctx, m037.Down); err != nil {
				t.Fatalf("037 down: %v", err)
			}
			user := pgtest.CreateUser(t, pool, "before037@example.com", 0)
			first := fleetSession{tt.name + ", first token", time.Hour, 0, time.Hour}.insert(t, pool, user)
			hash := fleetHash(tt.name)
			if _, err := pool.Exec(ctx, "UPDATE sessions SET session_token_hash = $2 WHERE session_token_hash = $1", first, hash); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, tt.end, hash); err != nil {
				t.Fatal(err)
			}
			var revokedAt *time.Time
			if err := pool.QueryRow(ctx, "SELECT revoked_at FROM sessions WHERE session_token_hash = $1 AND ended_at IS NULL", hash).Scan(&revokedAt); err != nil {
				t.Fatalf("before 037 the end left ended_at NULL: %v", err)
			}

			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			var migratedAt time.Time
			if err := tx.QueryRow(ctx, "SELECT CURRENT_TIMESTAMP").Scan(&migratedAt); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, m037.SQL); err != nil {
				t.Fatalf("037: %v", err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			want := migratedAt
			if revokedAt != nil {
				want = *revokedAt
			}
			var endedAt, revoked *time.Time
			if err := pool.QueryRow(ctx, "SELECT ended_at, revoked_at FROM sessions WHERE session_token_hash = $1", hash).Scan(&endedAt, &revoked); err != nil {
				t.Fatal(err)
			}
			if endedAt == nil || !endedAt.Equal(want) || revoked == nil || !revoked.Equal(want) {
				t.Fatalf("after 037: ended_at %v, revoked_at %v; want both %v", endedAt, revoked, want)
			}

			time.Sleep(1100 * time.Millisecond) // past a retention of one second
			cleaner, err := pgstore.NewCleaner(pool, pgstore.CleanerConfig{Retention: time.Second, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if res, err := cleaner.RunOnce(ctx); err != nil || res.Purged != 1 {
				t.Fatalf("Cleaner.RunOnce = %+v, %v; want the ended row purged", res, err)
			}
			var retired int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM sessionguard_retired_tokens WHERE token_hash = $1", first).Scan(&retired); err != nil {
				t.Fatal(err)
			}
			if retired != 0 {
				t.Error("the retired hash outlived its purged session")
			}
		})
	}
}

// TestDirectEndAfterReactivationRecordsTheNewEnd: a row an older service
// set active again (UPDATE … SET is_active = true, as the seed lets it)
// keeps the end time of its first end. Ended again by an UPDATE that does
// not say when, it kept that old time: Stats counted the end in the wrong
// period, and the Cleaner purged the row, and the hashes its
// re-authentications retired, as soon as the first end was older than its
// retention, though the session had just ended. The end time is this end's.
func TestDirectEndAfterReactivationRecordsTheNewEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	user := pgtest.CreateUser(t, pool, "reactivated@example.com", 0)
	hash := fleetSession{"reactivated", time.Hour, 0, time.Hour}.insert(t, pool, user)
	for _, sql := range []string{
		"SELECT revoke_session($1, 'admin_revoke')",
		"UPDATE sessions SET ended_at = ended_at - interval '1 day', revoked_at = revoked_at - interval '1 day' WHERE session_token_hash = $1",
		"UPDATE sessions SET is_active = true WHERE session_token_hash = $1",
	} {
		if _, err := pool.Exec(ctx, sql, hash); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var at time.Time
	if err := tx.QueryRow(ctx, "SELECT CURRENT_TIMESTAMP").Scan(&at); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE sessions SET is_active = false WHERE session_token_hash = $1", hash); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var endedAt, revokedAt time.Time
	if err := pool.QueryRow(ctx, "SELECT ended_at, revoked_at FROM sessions WHERE session_token_hash = $1", hash).Scan(&endedAt, &revokedAt); err != nil {
		t.Fatal(err)
	}
	if !endedAt.Equal(at) || !revokedAt.Equal(at) {
		t.Errorf("ended_at %v, revoked_at %v; want both %v, this end's", endedAt, revokedAt, at)
	}
	cleaner, err := pgstore.NewCleaner(pool, pgstore.CleanerConfig{Retention: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := cleaner.RunOnce(ctx); err != nil || res.Purged != 0 {
		t.Errorf("Cleaner.RunOnce = %+v, %v; want nothing purged within the retention", res, err)
	}
}
