package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"

	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Metrics and spans go to the providers the application set up (here the
// global ones of go.opentelemetry.io/otel, which an SDK and its exporters
// were installed into at start-up). A Cache reports through its Store's
// MeterProvider. (Compiled, not run: it needs a database.)
func Example_telemetry() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	mp, tp := otel.GetMeterProvider(), otel.GetTracerProvider()

	store, err := pgstore.New(pool, pgstore.Config{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}
	cache, err := pgstore.NewCache(store, pgstore.CacheConfig{})
	if err != nil {
		log.Fatal(err)
	}
	go cache.Run(ctx)
	cleaner, err := pgstore.NewCleaner(pool, pgstore.CleanerConfig{Interval: 5 * time.Minute, MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}
	go cleaner.Run(ctx)
	if _, err := middleware.New(middleware.Config{Store: cache, MeterProvider: mp}); err != nil {
		log.Fatal(err)
	}
}
