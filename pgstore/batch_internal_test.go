package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedExec is a batch statement that waits for its gate and records what
// it was given.
type gatedExec struct {
	gate    chan struct{}
	mu      sync.Mutex
	batches [][]int
	ctxErrs []error
	err     error           // fails every call of a batch
	failOne func(int) error // fails the calls it names, one by one
}

func (g *gatedExec) exec(ctx context.Context, reqs []int, out []int) error {
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	g.batches = append(g.batches, append([]int(nil), reqs...))
	g.ctxErrs = append(g.ctxErrs, ctx.Err())
	for i, r := range reqs {
		out[i] = r * 10
	}
	return g.err
}

// each is exec as the batcher's execFunc, with failOne's errors added.
func (g *gatedExec) each(ctx context.Context, reqs []int, out []int, errs []error) {
	failTogether(g.exec)(ctx, reqs, out, errs)
	for i, r := range reqs {
		if errs[i] == nil && g.failOne != nil {
			errs[i] = g.failOne(r)
		}
	}
}

// waitQueued waits until n calls are queued behind the batch in flight.
func waitQueued(t *testing.T, b *batcher[int, int], n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		q := len(b.queue)
		b.mu.Unlock()
		if q >= n {
			return
		}
	}
	t.Fatalf("fewer than %d calls queued", n)
}

func TestBatcher(t *testing.T) {
	t.Parallel()
	type result struct {
		v   int
		err error
	}
	// start sends req 0 (the batch in flight, held by the gate) and then
	// reqs 1..n, which queue behind it: with one statement in flight at
	// most, so that the queue forms behind req 0 alone.
	start := func(t *testing.T, g *gatedExec, max, n int, ctxOf func(i int) context.Context) (*batcher[int, int], []chan result) {
		t.Helper()
		b := newBatcher(max, g.each)
		b.inFlight = 1
		out := make([]chan result, n+1)
		for i := range out {
			out[i] = make(chan result, 1)
			go func() {
				v, err := b.do(ctxOf(i), i)
				out[i] <- result{v, err}
			}()
			if i == 0 {
				waitRunning(t, b)
			}
		}
		if n < max {
			waitQueued(t, b, n)
		} else {
			// A full batch starts a second statement beside the first.
			waitQueued(t, b, n-max)
		}
		return b, out
	}
	background := func(int) context.Context { return context.Background() }

	t.Run("queued calls go together in the next statement, each with its own answer", func(t *testing.T) {
		g := &gatedExec{gate: make(chan struct{})}
		_, out := start(t, g, 100, 20, background)
		close(g.gate)
		for i, c := range out {
			if r := <-c; r.err != nil || r.v != i*10 {
				t.Fatalf("call %d = %v, %v", i, r.v, r.err)
			}
		}
		if len(g.batches) != 2 || len(g.batches[0]) != 1 || len(g.batches[1]) != 20 {
			t.Fatalf("batches %v, want [0] then the 20 queued", g.batches)
		}
	})
	t.Run("batches are bounded", func(t *testing.T) {
		g := &gatedExec{gate: make(chan struct{})}
		_, out := start(t, g, 8, 50, background)
		close(g.gate)
		for _, c := range out {
			if r := <-c; r.err != nil {
				t.Fatal(r.err)
			}
		}
		for _, b := range g.batches {
			if len(b) > 8 {
				t.Fatalf("a batch of %d, max 8", len(b))
			}
		}
	})
	t.Run("each call hears its own error, alone or batched", func(t *testing.T) {
		own := func(r int) error {
			if r%3 == 0 {
				return fmt.Errorf("call %d failed", r)
			}
			return nil
		}
		g := &gatedExec{gate: make(chan struct{}), failOne: own}
		_, out := start(t, g, 100, 20, background)
		close(g.gate)
		for i, c := range out {
			r := <-c
			if want := own(i); want != nil {
				if r.err == nil || r.err.Error() != want.Error() || r.v != 0 {
					t.Fatalf("call %d = %v, %v; want no answer and %v", i, r.v, r.err, want)
				}
			} else if r.err != nil || r.v != i*10 {
				t.Fatalf("call %d = %v, %v; want %d", i, r.v, r.err, i*10)
			}
		}
		if len(g.batches) != 2 || len(g.batches[1]) != 20 {
			t.Fatalf("batches %v, want [0] alone then the 20 queued", g.batches)
		}
	})
	t.Run("an error fails every call of the batch", func(t *testing.T) {
		boom := errors.New("boom")
		g := &gatedExec{gate: make(chan struct{}), err: boom}
		_, out := start(t, g, 100, 10, background)
		close(g.gate)
		for i, c := range out {
			if r := <-c; !errors.Is(r.err, boom) {
				t.Fatalf("call %d = %v, %v; want the batch's error", i, r.v, r.err)
			}
		}
	})
	t.Run("one caller giving up does not cancel the batch for the others", func(t *testing.T) {
		g := &gatedExec{gate: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		b, out := start(t, g, 100, 2, func(i int) context.Context {
			if i == 1 {
				return ctx
			}
			return context.Background()
		})
		g.gate <- struct{}{} // batch [0] returns; [1 2] starts and waits at the gate
		if r := <-out[0]; r.err != nil {
			t.Fatal(r.err)
		}
		waitBatchTaken(t, b)
		cancel()
		if r := <-out[1]; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled call = %v, %v; want context.Canceled", r.v, r.err)
		}
		close(g.gate)
		if r := <-out[2]; r.err != nil || r.v != 20 {
			t.Fatalf("the other call = %v, %v", r.v, r.err)
		}
		if g.ctxErrs[1] != nil {
			t.Fatalf("the batch's context ended (%v) though a caller still waited", g.ctxErrs[1])
		}
	})
	t.Run("the batch's context ends when every caller gave up", func(t *testing.T) {
		g := &gatedExec{gate: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		b, out := start(t, g, 100, 2, func(i int) context.Context {
			if i == 0 {
				return context.Background()
			}
			return ctx
		})
		g.gate <- struct{}{}
		<-out[0]
		waitBatchTaken(t, b)
		cancel()
		<-out[1]
		<-out[2]
		close(g.gate)
		waitIdle(t, b)
		if !errors.Is(g.ctxErrs[1], context.Canceled) {
			t.Fatalf("batch context error = %v, want context.Canceled", g.ctxErrs[1])
		}
	})
}

// A lone call, with nothing in flight, is sent at once on its caller's
// goroutine with its caller's context: an idle store adds no hand-off.
func TestBatcherLoneCallRunsInline(t *testing.T) {
	t.Parallel()
	type key struct{}
	var sawCallerCtx bool
	b := newBatcher(16, failTogether(func(ctx context.Context, reqs []int, out []int) error {
		sawCallerCtx = ctx.Value(key{}) == "caller"
		copy(out, reqs)
		return nil
	}))
	for i := range 3 {
		v, err := b.do(context.WithValue(context.Background(), key{}, "caller"), i)
		if err != nil || v != i || !sawCallerCtx {
			t.Fatalf("lone call %d = %v, %v (ran with the caller's context: %v)", i, v, err, sawCallerCtx)
		}
	}
	if b.running != 0 || len(b.queue) != 0 {
		t.Fatalf("after lone calls: %d running, %d queued", b.running, len(b.queue))
	}
}

// Below the limit of statements in flight, calls are sent at once, each on
// its own; past it they queue. Light load thus runs as it would unbatched.
func TestBatcherSendsAtOnceBelowTheLimit(t *testing.T) {
	t.Parallel()
	g := &gatedExec{gate: make(chan struct{})}
	b := newBatcher(16, failTogether(g.exec))
	if b.inFlight != maxInFlight || maxInFlight < 2 {
		t.Fatalf("inFlight %d, maxInFlight %d: want at least two statements in flight", b.inFlight, maxInFlight)
	}
	done := make(chan error, maxInFlight+2)
	for i := range maxInFlight + 2 {
		go func() { _, err := b.do(context.Background(), i); done <- err }()
		if i < maxInFlight {
			waitFor(t, b, func() bool { return b.running == i+1 && len(b.queue) == 0 })
		}
	}
	waitQueued(t, b, 2) // the limit reached: the others queue
	close(g.gate)
	for range maxInFlight + 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	ones := 0
	for _, batch := range g.batches {
		if len(batch) == 1 {
			ones++
		}
	}
	if len(g.batches) != maxInFlight+1 || ones != maxInFlight {
		t.Fatalf("statements %v: want %d sent alone at once, then the 2 queued together", g.batches, maxInFlight)
	}
}

// A call never joins a batch whose statement started before the call began:
// what keeps a revoked session from passing (batch.go).
func TestBatcherNeverJoinsAStartedBatch(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	var violations atomic.Int64
	b := newBatcher(16, failTogether(func(_ context.Context, reqs []int64, out []int64) error {
		started := clock.Add(1)
		for _, began := range reqs {
			if began > started {
				violations.Add(1)
			}
		}
		time.Sleep(50 * time.Microsecond)
		copy(out, reqs)
		return nil
	}))
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if _, err := b.do(context.Background(), clock.Add(1)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if violations.Load() != 0 {
		t.Fatalf("%d calls joined a batch that started before they began", violations.Load())
	}
}

func waitRunning(t *testing.T, b *batcher[int, int]) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		r := b.running
		b.mu.Unlock()
		if r > 0 {
			return
		}
	}
	t.Fatal("no batch started")
}

// waitBatchTaken waits until the queue is empty: the queued calls were taken.
func waitBatchTaken(t *testing.T, b *batcher[int, int]) {
	t.Helper()
	waitFor(t, b, func() bool { return len(b.queue) == 0 })
}

func waitIdle(t *testing.T, b *batcher[int, int]) {
	t.Helper()
	waitFor(t, b, func() bool { return b.running == 0 })
}

func waitFor(t *testing.T, b *batcher[int, int], cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		ok := cond()
		b.mu.Unlock()
		if ok {
			return
		}
	}
	t.Fatal("timed out")
}

// Calls are reused once answered (batcher.calls): under many callers, some
// giving up and some batches failing, every answer is still the answer to
// its own request, and a call given up on is never handed to a later one.
func TestBatcherReusedCallsKeepTheirAnswers(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	b := newBatcher(8, failTogether(func(_ context.Context, reqs []int, out []int) error {
		time.Sleep(20 * time.Microsecond)
		for i, r := range reqs {
			if r%97 == 0 {
				return boom // fails the whole batch
			}
			out[i] = -r
		}
		return nil
	}))
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				req := w*1000 + i + 1
				ctx, cancel := context.WithCancel(context.Background())
				if i%7 == 0 {
					cancel() // gives up at once, whether queued or not
				}
				v, err := b.do(ctx, req)
				cancel()
				switch {
				case err == nil && v != -req:
					t.Errorf("request %d answered %d", req, v)
				case err != nil && !errors.Is(err, boom) && !errors.Is(err, context.Canceled):
					t.Errorf("request %d: %v", req, err)
				case errors.Is(err, boom) && v != 0:
					t.Errorf("request %d failed with the answer %d", req, v)
				}
			}
		}()
	}
	wg.Wait()
	waitIdle(t, b)
}
