package pgstore

import (
	"fmt"
	"testing"
	"time"
)

// TestReplicaFenceFolds: per-session fences the replica has passed go, and
// too many fold into the global fence, which then holds back every session
// until the replica passes the highest of them.
func TestReplicaFenceFolds(t *testing.T) {
	t.Parallel()
	var f replicaFence
	if !f.admits("a", 10) {
		t.Fatal("an empty fence refuses")
	}
	f.pend("a")
	if f.admits("a", 50) {
		t.Error("a pending session was admitted")
	}
	f.resolve("a", 100)
	for _, c := range []struct {
		hash     string
		replayed uint64
		want     bool
	}{{"a", 99, false}, {"b", 99, true}, {"a", 100, true}} {
		if got := f.admits(c.hash, c.replayed); got != c.want {
			t.Errorf("admits(%s, %d) = %v; want %v", c.hash, c.replayed, got, c.want)
		}
	}
	for i := range maxFencedHashes + 1 {
		f.resolve(fmt.Sprint(i), uint64(1000+i))
	}
	f.mu.Lock()
	n := len(f.hashes)
	f.mu.Unlock()
	if n > maxFencedHashes {
		t.Errorf("%d per-session fences kept; want at most %d", n, maxFencedHashes)
	}
	if f.admits("unrelated", 1000) {
		t.Error("after the fold, a session was admitted below the folded positions")
	}
	if !f.admits("unrelated", 1000+maxFencedHashes) {
		t.Error("past every position, a session was refused")
	}
}

// TestReplicaFenceRefusesReadsFromBeforeADroppedFence: once a replica read
// passed a session's fence, that fence goes (and, past half of
// maxFencedHashes, every fence a read has passed); a read of the replica
// taken before the position (a slow request, or another replica behind the
// pool) must still be refused, for that session and for the folded ones.
func TestReplicaFenceRefusesReadsFromBeforeADroppedFence(t *testing.T) {
	t.Parallel()
	var f replicaFence
	f.resolve("a", 100)
	if !f.admits("a", 100) {
		t.Fatal("a replica at the fence was refused")
	}
	if f.admits("a", 99) {
		t.Error("after its fence went, a read from before it was admitted")
	}
	for i := range maxFencedHashes/2 + 1 {
		f.resolve(fmt.Sprint(i), uint64(200+i))
	}
	if !f.admits("b", 200+maxFencedHashes) {
		t.Fatal("a replica past every fence was refused")
	}
	f.resolve("c", 200+maxFencedHashes+1) // folds: drops every fence the read above passed
	f.mu.Lock()
	_, kept := f.hashes["0"]
	f.mu.Unlock()
	if kept {
		t.Fatal("the fences a read passed were not dropped; the test proves nothing")
	}
	if f.admits("0", 199) {
		t.Error("after the fold dropped its fence, a read from before it was admitted")
	}
}

// TestReplicaFenceLostPositionIsCoveredLater: a revocation whose position
// was lost blocks every "valid" of the replica, until a position asked for
// after it — a later revocation of a single session is enough — covers it;
// the replica then answers once it has replayed that far.
func TestReplicaFenceLostPositionIsCoveredLater(t *testing.T) {
	t.Parallel()
	var f replicaFence
	f.coverLost(50, time.Now())
	if !f.admits("b", 10) {
		t.Fatal("without a lost position, coverLost fenced every session")
	}
	f.lost()
	if f.admits("b", 1000) {
		t.Fatal("a replica answered while a revocation's position was unknown")
	}
	f.resolve("a", 200)
	f.coverLost(200, time.Now())
	if f.admits("b", 199) {
		t.Error("a replica behind the covering position answered")
	}
	if !f.admits("b", 200) {
		t.Error("a replica past the covering position was still refused")
	}
}
