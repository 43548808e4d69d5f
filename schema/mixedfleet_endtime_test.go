package schema_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
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
