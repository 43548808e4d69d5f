package pgstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

// BenchmarkValidateSteadyState measures the Go side of Store.Validate on a
// live session with nothing due (the read path alone: one plain SELECT),
// lone and batched, on a real PostgreSQL. On this shared machine the
// allocation counts and a CPU profile's shares are what to read, not ns/op:
//
//	go test -run '^$' -bench BenchmarkValidateSteadyState -benchmem -cpuprofile cpu.out ./pgstore/
//	go tool pprof -top pgstore.test cpu.out
//
// "unbatched" is MaxBatch 1; "batched/alone" is one caller at a time
// through the batcher (each lookup sent at once, alone); "batched/parallel"
// is 32 callers per core, so that lookups queue and share statements.
func BenchmarkValidateSteadyState(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	user := pgtest.CreateUser(b, pool, "bench@example.com", 0)
	hashes := make([]string, 256)
	setup, err := pgstore.New(pool, pgstore.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	for i := range hashes {
		hashes[i] = newHash(b)
		if _, err := setup.Create(ctx, sessionguard.NewSession{TokenHash: hashes[i], UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
			b.Fatal(err)
		}
	}
	validate := func(b *testing.B, s *pgstore.Store, h string) bool {
		st, err := s.Validate(ctx, h, sessionguard.Scope{AppType: sessionguard.ControlPanel})
		if err != nil || st.State != sessionguard.StateValid {
			b.Errorf("Validate = %q, %v", st.State, err)
			return false
		}
		return true
	}
	// parallel is goroutines per GOMAXPROCS (0: one caller at a time): 2
	// on two cores is the bench's light load of 4 connections, 32 its heavy
	// load.
	variants := []struct {
		name     string
		maxBatch int
		parallel int
	}{
		{"unbatched", 1, 0},
		{"batched/alone", 0, 0},
		{"unbatched/light", 1, 2},
		{"batched/light", 0, 2},
		{"batched/parallel", 0, 32},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			// An hour between touches: nothing falls due however long it runs.
			store, err := pgstore.New(pool, pgstore.Config{Logger: quiet, MaxBatch: v.maxBatch, TouchInterval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			for _, h := range hashes { // warm the pool's connections and statements
				if !validate(b, store, h) {
					return
				}
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			if v.parallel == 0 {
				for i := 0; b.Loop(); i++ {
					if !validate(b, store, hashes[i%len(hashes)]) {
						return
					}
				}
				return
			}
			b.SetParallelism(v.parallel)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !validate(b, store, hashes[next.Add(1)%int64(len(hashes))]) {
						return
					}
				}
			})
		})
	}
}
