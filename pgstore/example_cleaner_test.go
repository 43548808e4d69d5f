package pgstore_test

import (
	"context"
	"log"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Every instance of the app may run a Cleaner: the advisory lock each batch
// takes lets one at a time work. It stops with its context.
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
		OnEvent:   func(e sessionguard.Event) { slog.Info("count", "kind", e.Kind, "n", e.Count) }, // or a metrics counter
	})
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = cleaner.Run(ctx) }()
}

// An admin page ends a user's sessions when the account is disabled; the
// audit line names the admin.
func ExampleStore_RevokeAll() {
	pool, err := pgxpool.New(context.Background(), "postgres:///app")
	if err != nil {
		log.Fatal(err)
	}
	store, err := pgstore.New(pool, pgstore.Config{Logger: slog.Default()})
	if err != nil {
		log.Fatal(err)
	}
	var adminID, userID int64 = 1, 42
	ctx := sessionguard.WithActor(context.Background(), adminID)
	n, err := store.RevokeAll(ctx, userID, "account_disabled")
	if err != nil {
		log.Fatal(err) // fail closed: the account stays disabled, retry the revocation
	}
	log.Printf("ended %d sessions", n)
}
