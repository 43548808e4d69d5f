package pgstore

import (
	"fmt"
	"testing"
)

// TestReplicaFenceDropsPassedFences: a per-session fence the replica has
// been seen to pass is dropped (docs/SCALING.md: "Per-session fences the
// replica has passed are dropped"), by the check that passes it and, for
// sessions nobody checks again, once the fences pile up.
func TestReplicaFenceDropsPassedFences(t *testing.T) {
	t.Parallel()
	count := func(f *replicaFence) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.hashes)
	}

	var f replicaFence
	f.resolve("a", 100)
	if f.admits("a", 99) || count(&f) != 1 {
		t.Fatalf("before the replica passed it: admitted, or %d fences; want refused, 1", count(&f))
	}
	if !f.admits("a", 100) {
		t.Fatal("a replica past the fence was refused")
	}
	if n := count(&f); n != 0 {
		t.Errorf("%d fences after the replica passed the only one; want 0", n)
	}

	var g replicaFence
	for i := range maxFencedHashes / 2 {
		g.resolve(fmt.Sprint(i), 10)
	}
	if !g.admits("unfenced", 20) { // a read that reports the replica past all of them
		t.Fatal("an unfenced session was refused")
	}
	g.pend("pending")
	g.resolve("late", 30)
	if n := count(&g); n != 2 {
		t.Errorf("%d fences kept; want 2 (the pending one and the one the replica has not passed)", n)
	}
	if g.admits("pending", 1000) {
		t.Error("a pending fence was dropped")
	}
}
