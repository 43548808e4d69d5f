package pgstore

import (
	"context"
	"testing"
)

// A batch's statement gets its slices from the batcher's scratch pool
// (batcher.scratch): a batch allocates none to hand its calls to exec.
// Without the pool each batch allocated its slices and their holder (7
// allocations for these 8 calls). The race detector drops a quarter of a
// sync.Pool's Puts (about 1 allocation per batch then), so the bound is
// under 2, not 0. (Not parallel: AllocsPerRun counts every
// goroutine's allocations.)
func TestBatchReusesItsScratch(t *testing.T) {
	b := newBatcher(16, failTogether(func(_ context.Context, reqs []int, out []int) error {
		copy(out, reqs)
		return nil
	}))
	calls := make([]*batchCall[int, int], 8)
	for i := range calls {
		calls[i] = &batchCall[int, int]{done: make(chan struct{}, 1)}
		calls[i].req[0] = i
	}
	st := &batchState{ctx: context.Background(), cancel: func() {}}
	batch := func() {
		b.exec1(calls, st)
		for i, c := range calls {
			<-c.done
			if c.res[0] != i || c.err[0] != nil {
				t.Fatalf("call %d answered %d, %v", i, c.res[0], c.err[0])
			}
		}
	}
	batch()
	if allocs := testing.AllocsPerRun(1000, batch); allocs >= 2 {
		t.Errorf("a batch of %d calls allocates %v times to hand them to exec, want none (under 2 with the race detector)", len(calls), allocs)
	}
}
