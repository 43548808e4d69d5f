package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// The cache goes between the Store and the Guard; its listener runs for as
// long as the application does. (Compiled, not run: it needs a database.)
func ExampleCache() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop() // ends cache.Run

	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	cache, err := pgstore.NewCache(store, pgstore.CacheConfig{})
	if err != nil {
		log.Fatal(err)
	}
	go cache.Run(ctx) // until then, and whenever it is disconnected, every check goes to the database

	guard, err := middleware.New(middleware.Config{Store: cache})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		_, _ = w.Write([]byte("hello, user " + s.String()))
	})))
}
