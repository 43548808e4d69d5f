// Command testserver is one app instance for the topology tests: a Guard
// over a pgstore Store (with an optional read replica and Cache) on the
// given database, serving on a free loopback port. It prints
// "ready <base URL>" on stdout once it serves (and, with -cache, once the
// cache listener is connected), and runs until killed or until its stdin
// closes: the test that started it holds the other end, so a test binary
// that dies without its cleanups leaves no instance behind.
//
//	GET  /check   200 for a live session (Authorization: Bearer <token>), else the Guard's refusal
//	POST /revoke  ends the session of the bearer token through this instance
//	GET  /state   the cache's and the replica's counters, as JSON
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

func main() {
	primary := flag.String("primary", "", "connection string of the primary (several hosts: target_session_attrs=read-write)")
	replica := flag.String("replica", "", "connection string of a hot standby for reads (optional)")
	cache := flag.Bool("cache", false, "run a Cache with its listener")
	flag.Parse()
	go exitWhenStdinCloses()
	if err := run(*primary, *replica, *cache); err != nil {
		log.Fatal(err)
	}
}

func run(primaryDSN, replicaDSN string, withCache bool) error {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pool, err := newPool(ctx, primaryDSN)
	if err != nil {
		return err
	}
	cfg := pgstore.Config{Logger: logger}
	if replicaDSN != "" {
		if cfg.ReadPool, err = newPool(ctx, replicaDSN); err != nil {
			return err
		}
	}
	store, err := pgstore.New(pool, cfg)
	if err != nil {
		return err
	}
	var (
		guarded sessionguard.Store = store
		c       *pgstore.Cache
	)
	if withCache {
		c, err = pgstore.NewCache(store, pgstore.CacheConfig{Logger: logger, HealthCheckInterval: 200 * time.Millisecond, MaxReconnectDelay: time.Second})
		if err != nil {
			return err
		}
		go c.Run(ctx) //nolint:errcheck // runs until the process is killed
		for !c.Listening() {
			time.Sleep(5 * time.Millisecond)
		}
		guarded = c
	}
	guard, err := middleware.New(middleware.Config{Store: guarded, AppType: sessionguard.ControlPanel, Logger: logger, StoreTimeout: time.Second})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /check", guard.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})))
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "no bearer token", http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256([]byte(token))
		ended, err := guarded.Revoke(r.Context(), hex.EncodeToString(sum[:]), sessionguard.ReasonAdminRevoke)
		if err != nil {
			http.Error(w, "store error", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, ended)
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		var st State
		if c != nil {
			cs := c.Stats()
			st.Listening, st.Hits, st.Misses, st.Entries = c.Listening(), cs.Hits, cs.Misses, cs.Entries
		}
		rs := store.ReplicaStats()
		st.ReplicaServed, st.ReplicaFallbacks = rs.Served, rs.Fallbacks
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("ready http://%s\n", ln.Addr())
	return http.Serve(ln, mux)
}

// State is what GET /state reports.
type State struct {
	Listening        bool   `json:"listening"`
	Hits             uint64 `json:"hits"`
	Misses           uint64 `json:"misses"`
	Entries          int    `json:"entries"`
	ReplicaServed    uint64 `json:"replica_served"`
	ReplicaFallbacks uint64 `json:"replica_fallbacks"`
}

// exitWhenStdinCloses ends the process once stdin reaches EOF (or fails).
func exitWhenStdinCloses() {
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

func newPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse connection string: %w", err)
	}
	cfg.MaxConns = 8
	cfg.ConnConfig.ConnectTimeout = time.Second
	return pgxpool.NewWithConfig(ctx, cfg)
}
