package middleware

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// BenchmarkMiddlewareCached is the whole Middleware over a running
// pgstore.Cache (real PostgreSQL) that holds the session: every request
// after the first is a cache hit, as in the load benchmark's cached variants
// between touches. BenchmarkNoAuth is the same request to the same handler
// without the Guard.
//
//	go test -run '^$' -bench 'Cached|NoAuth' -benchmem ./middleware/
func BenchmarkMiddlewareCached(b *testing.B) {
	for _, jwtMode := range []bool{false, true} {
		name := "opaque"
		if jwtMode {
			name = "jwt"
		}
		b.Run(name, func(b *testing.B) {
			pool := pgtest.NewPool(b)
			cache := runningCache(b, pool)
			cfg := Config{Store: cache, Logger: slog.New(slog.DiscardHandler)}
			if jwtMode {
				cfg.JWT = benchJWTConfig()
			}
			g, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			user := pgtest.CreateUser(b, pool, "bench@example.com", 0)
			token := benchOpaque(b)
			header, value := "Cookie", DefaultCookieName+"="+token
			if jwtMode {
				if token, err = g.jwt.sign(benchSID, user, 0, time.Now(), 8*time.Hour); err != nil {
					b.Fatal(err)
				}
				header, value = "Authorization", "Bearer "+token
			}
			if _, err := cache.Store().Create(context.Background(), sessionguard.NewSession{
				ID: benchSID, TokenHash: hashToken(token), UserID: user, AppType: sessionguard.ControlPanel,
			}); err != nil {
				b.Fatal(err)
			}
			benchMiddleware(b, g, header, value)
			if st := cache.Stats(); st.Misses > 1 {
				b.Fatalf("%d cache misses, want the first request's only", st.Misses)
			}
		})
	}
}

// runningCache is a Cache over pool (a touch interval of an hour: every
// request after the first is a hit) whose listener runs until the
// benchmark ends.
func runningCache(b *testing.B, pool *pgxpool.Pool) *pgstore.Cache {
	b.Helper()
	store, err := pgstore.New(pool, pgstore.Config{TouchInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	cache, err := pgstore.NewCache(store, pgstore.CacheConfig{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cache.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			b.Errorf("Run: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !cache.Listening(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the cache's listener did not connect")
		}
	}
	return cache
}
