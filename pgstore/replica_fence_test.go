package pgstore

import (
	"fmt"
	"testing"
)

// TestReplicaFenceFolds: per-session fences the replica has passed go, and
// too many fold into the global fence, which then holds back every session
// until the replica passes the highest of them.
func TestReplicaFenceFolds(t *testing.T) {
	t.Parallel()
	var f replicaFence
	if !f.admits("a", 10, true) {
		t.Fatal("an empty fence refuses")
	}
	f.pend("a")
	if f.admits("a", 50, true) {
		t.Error("a pending session was admitted")
	}
	f.resolve("a", 100)
	for _, c := range []struct {
		hash     string
		replayed uint64
		want     bool
	}{{"a", 99, false}, {"b", 99, true}, {"a", 100, true}} {
		if got := f.admits(c.hash, c.replayed, true); got != c.want {
			t.Errorf("admits(%s, %d) = %v; want %v", c.hash, c.replayed, got, c.want)
		}
	}
	if !f.admits("a", 1, false) {
		t.Error("a replica not in recovery is current, but was refused")
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
	if f.admits("unrelated", 1000, true) {
		t.Error("after the fold, a session was admitted below the folded positions")
	}
	if !f.admits("unrelated", 1000+maxFencedHashes, true) {
		t.Error("past every position, a session was refused")
	}
}
