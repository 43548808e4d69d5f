package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
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

// BenchmarkMiddlewareCachedParallel is MiddlewareCached/opaque from eight
// goroutines per core over 1,000 sessions: the cache's lock and LRU list
// shared as on a busy server.
func BenchmarkMiddlewareCachedParallel(b *testing.B) {
	pool := pgtest.NewPool(b)
	cache := runningCache(b, pool)
	g, err := New(Config{Store: cache, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	user := pgtest.CreateUser(b, pool, "bench@example.com", 0)
	reqs := make([]*http.Request, 1000)
	for i := range reqs {
		token := benchOpaque(b)
		if _, err := cache.Store().Create(context.Background(), sessionguard.NewSession{
			TokenHash: hashToken(token), UserID: user, AppType: sessionguard.ControlPanel,
		}); err != nil {
			b.Fatal(err)
		}
		reqs[i], _ = http.NewRequest(http.MethodGet, "/", nil)
		reqs[i].Header.Set("Cookie", DefaultCookieName+"="+token)
	}
	h := g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for i := 0; pb.Next(); i++ {
			clear(w.h)
			ctx, cancel := context.WithCancel(context.Background())
			h.ServeHTTP(w, reqs[i%len(reqs)].WithContext(ctx))
			cancel()
			if w.h.Get(HeaderIdleRemaining) == "" {
				b.Error("refused")
				return
			}
		}
	})
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
