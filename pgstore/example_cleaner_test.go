package pgstore_test

import (
	"context"
	"log"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/pgstore"
)

// Every instance of the app may run a Cleaner: the advisory lock lets one at
// a time work. It stops with its context.
func ExampleCleaner() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	pool, err := pgxpool.New(ctx, "postgres:///app")
	if err != nil {
		log.Fatal(err)
	}
	cleaner, err := pgstore.NewCleaner(pool, pgstore.CleanerConfig{
		Interval:  5 * time.Minute,
		Retention: 90 * 24 * time.Hour,
		OnEvent:   func(e pgstore.Event) { slog.Info("count", "kind", e.Kind, "n", e.Count) }, // or a metrics counter
	})
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = cleaner.Run(ctx) }()
}

// An admin page ends a user's sessions when the account is disabled; the
// audit line names the admin.
func ExampleStore_RevokeAll() {
	var store *pgstore.Store // pgstore.New(pool, pgstore.Config{Logger: auditLogger})
	var adminID, userID int64 = 1, 42
	ctx := pgstore.WithActor(context.Background(), adminID)
	if store != nil {
		n, err := store.RevokeAll(ctx, userID, "account_disabled")
		log.Println(n, err)
	}
}
