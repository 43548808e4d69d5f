package pgstore

import (
	"context"
	"slices"
	"sync"
)

// DefaultMaxBatch is Config.MaxBatch when it is zero.
const DefaultMaxBatch = 128

// batcher gathers concurrent calls into one statement: natural batching.
// While a statement is in flight, calls that arrive queue; when it returns,
// everything queued goes together in the next statement. An idle store so
// sends each call at once, alone, as it would without a batcher; a busy
// one pays one round trip per batch instead of one per call.
//
// Why a call never sees data older than its own start (what revocation
// needs): a call joins only the queue, never a batch already taken, and a
// batch's statement is sent only after the batch was taken. So the
// statement of any call that began after a revoke returned (committed)
// starts after that commit and, at READ COMMITTED, sees it.
//
// At most maxInFlight statements are in flight. A call that finds fewer in
// flight and nobody queued sends its own statement, on its caller's
// goroutine with the caller's context: no hand-off, no added latency, and
// at light load (a few concurrent requests) the same parallelism as without
// a batcher. Past that, calls queue; queued calls go out together, and a
// further batch starts only while a full one waits: more statements in
// flight would compete with the requests' own work for the same cores. A
// batch of queued calls runs on a goroutine of its own with a context of its
// own, cancelled only when every call in it has given up, so one caller's
// cancellation never fails the others. exec answers each call with its own
// result or its own error: a batch whose statement fails as a whole
// (failTogether) fails every call, one whose calls are sent again alone
// (writeBatch) fails only those whose own statement failed.
type batcher[Req, Res any] struct {
	max      int
	inFlight int // statements in flight at most: maxInFlight
	exec     execFunc[Req, Res]

	// calls holds answered calls for reuse: a call, its channel and its
	// one-element arrays are then no allocation per lookup.
	calls sync.Pool
	// scratch holds the slices of answered batches for reuse: a batch then
	// allocates none to hand its calls to exec.
	scratch sync.Pool

	mu      sync.Mutex
	queue   []*batchCall[Req, Res]
	running int // batches in flight
}

// maxInFlight bounds the statements one batcher has in flight. One would
// batch most, but four concurrent requests would then wait for each other:
// at two, light load runs as unbatched does (BENCHMARKS.md, light load) and
// heavy load still batches.
const maxInFlight = 2

// batchCall is one caller's lookup. req and res are arrays of one so that a
// call sent alone is its own batch (req[:], res[:]) without a slice to
// allocate. done is buffered: its batch sends once to answer it, so it
// outlives the answer and is reused with the call. A call goes back to
// batcher.calls only after its caller read the answer; an abandoned one,
// which its batch or the queue may still hold, never does.
type batchCall[Req, Res any] struct {
	req       [1]Req
	res       [1]Res
	err       [1]error
	done      chan struct{}
	abandoned bool        // the caller gave up; under batcher.mu
	batch     *batchState // the batch that took it; under batcher.mu
}

// batchState is one statement's shared state: its context is cancelled when
// every call in it has been abandoned.
type batchState struct {
	live   int // calls still waiting; under batcher.mu
	ctx    context.Context
	cancel context.CancelFunc
}

// execFunc runs one statement for reqs and answers reqs[i] with out[i], or
// with errs[i] when errs[i] is not nil. out and errs come zeroed.
type execFunc[Req, Res any] func(ctx context.Context, reqs []Req, out []Res, errs []error)

// failTogether is exec as an execFunc for a statement that answers all its
// calls or none: its error fails every call of the batch.
func failTogether[Req, Res any](exec func(ctx context.Context, reqs []Req, out []Res) error) execFunc[Req, Res] {
	return func(ctx context.Context, reqs []Req, out []Res, errs []error) {
		if err := exec(ctx, reqs, out); err != nil {
			for i := range errs {
				errs[i] = err
			}
		}
	}
}

func newBatcher[Req, Res any](max int, exec execFunc[Req, Res]) *batcher[Req, Res] {
	return &batcher[Req, Res]{max: max, inFlight: maxInFlight, exec: exec}
}

// newCall returns a call for req, reused when one is free.
func (b *batcher[Req, Res]) newCall(req Req) *batchCall[Req, Res] {
	c, ok := b.calls.Get().(*batchCall[Req, Res])
	if !ok {
		c = &batchCall[Req, Res]{done: make(chan struct{}, 1)}
	}
	c.req[0] = req
	return c
}

// answer returns c's answer and frees c for reuse: its caller is done with
// it. A call answered with an error has no result.
func (b *batcher[Req, Res]) answer(c *batchCall[Req, Res]) (Res, error) {
	res, err := c.res[0], c.err[0]
	if err != nil {
		var zero Res
		res = zero
	}
	*c = batchCall[Req, Res]{done: c.done}
	b.calls.Put(c)
	return res, err
}

// do queues req and waits for its result, or for ctx to end. While fewer
// than b.inFlight statements are in flight and nothing is queued, the
// caller sends its own statement at once, on its own goroutine and with its
// own context, exactly as without a batcher; the calls that arrive while
// the limit is reached queue, and the caller that finds them when it is
// done hands them to a goroutine of their own.
func (b *batcher[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	c := b.newCall(req)
	b.mu.Lock()
	if b.running < b.inFlight && len(b.queue) == 0 {
		b.running++
		b.mu.Unlock()
		b.exec(ctx, c.req[:], c.res[:], c.err[:])
		b.mu.Lock()
		if len(b.queue) > 0 {
			calls, st := b.take()
			b.mu.Unlock()
			go b.run(calls, st)
		} else {
			b.running--
			b.mu.Unlock()
		}
		return b.answer(c)
	}
	b.queue = append(b.queue, c)
	if b.running == 0 || b.running < b.inFlight && len(b.queue) >= b.max {
		b.running++
		calls, st := b.take()
		b.mu.Unlock()
		go b.run(calls, st)
	} else {
		b.mu.Unlock()
	}
	select {
	case <-c.done:
		return b.answer(c)
	case <-ctx.Done():
	}
	b.mu.Lock()
	select {
	case <-c.done:
		// Answered while giving up: take the answer.
		b.mu.Unlock()
		return b.answer(c)
	default:
	}
	c.abandoned = true
	if c.batch != nil {
		if c.batch.live--; c.batch.live == 0 {
			c.batch.cancel()
		}
	}
	b.mu.Unlock()
	var zero Res
	return zero, ctx.Err()
}

// take removes up to max calls from the queue, skipping abandoned ones, and
// ties them to a new batch. Called with b.mu held.
func (b *batcher[Req, Res]) take() ([]*batchCall[Req, Res], *batchState) {
	calls := make([]*batchCall[Req, Res], 0, min(len(b.queue), b.max))
	i := 0
	for ; i < len(b.queue) && len(calls) < b.max; i++ {
		if c := b.queue[i]; !c.abandoned {
			calls = append(calls, c)
		}
	}
	n := copy(b.queue, b.queue[i:])
	clear(b.queue[n:])
	b.queue = b.queue[:n]
	ctx, cancel := context.WithCancel(context.Background())
	st := &batchState{live: len(calls), ctx: ctx, cancel: cancel}
	for _, c := range calls {
		c.batch = st
	}
	return calls, st
}

// run executes batches until the queue is empty.
func (b *batcher[Req, Res]) run(calls []*batchCall[Req, Res], st *batchState) {
	for {
		if len(calls) > 0 {
			b.exec1(calls, st)
		}
		st.cancel()
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		calls, st = b.take()
		b.mu.Unlock()
	}
}

// batchScratch is the slices one batch's statement is given.
type batchScratch[Req, Res any] struct {
	reqs []Req
	res  []Res
	errs []error
}

// exec1 runs one batch's statement and answers each of its calls.
func (b *batcher[Req, Res]) exec1(calls []*batchCall[Req, Res], st *batchState) {
	sc, ok := b.scratch.Get().(*batchScratch[Req, Res])
	if !ok {
		sc = new(batchScratch[Req, Res])
	}
	n := len(calls)
	sc.reqs = slices.Grow(sc.reqs[:0], n)[:n]
	sc.res = slices.Grow(sc.res[:0], n)[:n]
	sc.errs = slices.Grow(sc.errs[:0], n)[:n]
	for i, c := range calls {
		sc.reqs[i] = c.req[0]
	}
	b.exec(st.ctx, sc.reqs, sc.res, sc.errs)
	for i, c := range calls {
		c.res[0], c.err[0] = sc.res[i], sc.errs[i]
		c.done <- struct{}{} // never blocks: one answer per use of the call
	}
	// Cleared, the slices keep no request or answer alive while pooled.
	clear(sc.reqs)
	clear(sc.res)
	clear(sc.errs)
	b.scratch.Put(sc)
}
