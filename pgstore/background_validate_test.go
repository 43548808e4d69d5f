package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// backgroundChecks validates sessions from two goroutines while a test runs
// something else (a cleanup of a large backlog), as requests would: each
// waits 2 ms between checks, leaving the work under test its share of the
// machine.
type backgroundChecks struct {
	done     chan struct{}
	wg       sync.WaitGroup
	checks   atomic.Int64
	failures atomic.Int64
	slowest  atomic.Int64 // nanoseconds
	firstErr atomic.Value // string: the first failure
}

// checkInBackground starts the checks: pick names the session of each, and
// ok says whether its answer is right (an error always fails). seed makes
// the picks repeatable.
func checkInBackground(ctx context.Context, store *pgstore.Store, seed uint64, pick func(*rand.Rand) string,
	ok func(sessionguard.Status) bool) *backgroundChecks {
	b := &backgroundChecks{done: make(chan struct{})}
	for w := range 2 {
		b.wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), seed))
			for {
				select {
				case <-b.done:
					return
				default:
				}
				hash := pick(rng)
				t0 := time.Now()
				st, err := store.Validate(ctx, hash, sessionguard.Scope{})
				if d := int64(time.Since(t0)); d > b.slowest.Load() {
					b.slowest.Store(d)
				}
				b.checks.Add(1)
				if err != nil || !ok(st) {
					b.failures.Add(1)
					b.firstErr.CompareAndSwap(nil, fmt.Sprintf("%v %v", st.State, err))
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return b
}

// stop ends the checks and waits for them.
func (b *backgroundChecks) stop() {
	close(b.done)
	b.wg.Wait()
}

func (b *backgroundChecks) String() string {
	s := fmt.Sprintf("%d concurrent validations, %d failed, slowest %v", b.checks.Load(), b.failures.Load(),
		time.Duration(b.slowest.Load()).Round(time.Microsecond))
	if first := b.firstErr.Load(); first != nil {
		s += ", first failure: " + first.(string)
	}
	return s
}
