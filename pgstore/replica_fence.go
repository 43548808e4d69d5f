package pgstore

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// pendingLSN marks a session whose revocation is known but whose WAL
// position is not yet: the replica answers nothing "valid" for it.
const pendingLSN = math.MaxUint64

// maxFencedHashes bounds the per-session fences; past it they fold into the
// global one (correct, only coarser).
const maxFencedHashes = 10_000

// replicaFence is what a "valid" answer of the read replica must have seen:
// the revocations this instance knows of, as WAL positions of the primary.
// A revocation of a known session (Revoke by token hash; a Cache's
// notification, which carries the hash) fences that session alone, so the
// replica keeps answering for the others; one that may have ended many
// (RevokeAll, RevokeEveryone, a notification without a hash, a listener
// that reconnects after missing some) fences every session.
type replicaFence struct {
	lsn     atomic.Uint64 // global: every "valid" needs replay at least this; only grows
	blocked atomic.Int64  // > 0: no "valid" at all (a global position not yet known)
	// unknownSince is when (UnixNano) a revocation committed whose position
	// could not be learned; 0: none. A position asked for later covers it.
	unknownSince atomic.Int64

	mu       sync.Mutex
	hashes   map[string]uint64 // per session: its revocation's position, or pendingLSN
	replayed uint64            // the furthest replay a replica read has reported
}

// raise moves the global fence up to lsn, a position the primary reported
// after askedAt; it never moves down. A position asked for after a lost
// one's revocation covers it; a zero askedAt (a position the fence already
// held per session) covers none.
func (f *replicaFence) raise(lsn uint64, askedAt time.Time) {
	for {
		cur := f.lsn.Load()
		if lsn <= cur || f.lsn.CompareAndSwap(cur, lsn) {
			break
		}
	}
	if u := f.unknownSince.Load(); u != 0 && !askedAt.IsZero() && askedAt.UnixNano() > u {
		f.unknownSince.CompareAndSwap(u, 0)
	}
}

// lost records a revocation whose position is unknown: the replica answers
// nothing "valid" here until a later position is learned.
func (f *replicaFence) lost() { f.unknownSince.Store(time.Now().UnixNano()) }

// pend fences the session of hash until resolve gives its position.
func (f *replicaFence) pend(hash string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hashes == nil {
		f.hashes = make(map[string]uint64)
	}
	f.hashes[hash] = pendingLSN
	f.foldLocked()
}

// coverLost lets lsn, a position the primary reported after askedAt, cover
// a revocation whose position was lost before askedAt (lost): the global
// fence rises to lsn, past that revocation's commit, and the replica
// answers again once it has replayed that far. Without a lost position it
// does nothing, so that a revocation of one session fences that one alone.
func (f *replicaFence) coverLost(lsn uint64, askedAt time.Time) {
	if f.unknownSince.Load() != 0 {
		f.raise(lsn, askedAt)
	}
}

// resolve sets the session of hash's fence to lsn, a position the primary
// reported after that session's revocation committed. A known position
// only grows.
func (f *replicaFence) resolve(hash string, lsn uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hashes == nil {
		f.hashes = make(map[string]uint64)
	}
	if cur, ok := f.hashes[hash]; !ok || cur == pendingLSN || cur < lsn {
		f.hashes[hash] = lsn
	}
	f.foldLocked()
}

// foldLocked drops the per-session fences a replica read has already seen
// the replica pass, and folds the rest into the global fence when there
// are too many. Pending ones stay: their position is not known yet.
func (f *replicaFence) foldLocked() {
	if len(f.hashes) <= maxFencedHashes/2 {
		return
	}
	var dropped uint64
	for h, v := range f.hashes {
		if v != pendingLSN && v <= f.replayed {
			dropped = max(dropped, v)
			delete(f.hashes, h)
		}
	}
	// A read from before them must still be refused: keep their positions
	// in the global fence, which every read since has passed anyway.
	f.raise(dropped, time.Time{})
	if len(f.hashes) <= maxFencedHashes {
		return
	}
	var highest uint64
	for h, v := range f.hashes {
		if v != pendingLSN {
			highest = max(highest, v)
			delete(f.hashes, h)
		}
	}
	f.raise(highest, time.Time{})
}

// admits reports whether a replica that has replayed up to replayed may
// answer "valid" for hash.
func (f *replicaFence) admits(hash string, replayed uint64) bool {
	if f.blocked.Load() > 0 || f.unknownSince.Load() != 0 {
		return false
	}
	if replayed < f.lsn.Load() {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.admitsLocked(hash, replayed)
}

// admitsLocked is admits past its lock-free checks. It reads the global
// fence again: while this read waited for mu, another one may have passed
// hash's fence and moved it into the global fence (or a fold may have),
// and a read from before that position must not find hash unfenced
// (TestReplicaFenceRefusesASlowReadOfAFenceDroppedMeanwhile).
func (f *replicaFence) admitsLocked(hash string, replayed uint64) bool {
	if replayed < f.lsn.Load() {
		return false
	}
	f.replayed = max(f.replayed, replayed)
	v, ok := f.hashes[hash]
	switch {
	case !ok:
		return true
	case v == pendingLSN || replayed < v:
		return false
	}
	// The replica has it: this fence is done, and goes into the global
	// fence, so that a read of this session from before it (a slow request,
	// or another standby behind the pool) is still refused.
	delete(f.hashes, hash)
	f.raise(v, time.Time{})
	return true
}
