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

// TestReplicaFenceRefusesASlowReadOfAFenceDroppedMeanwhile: a read that
// passed admits' lock-free checks while the global fence was low, and then
// waited for the lock while a later read passed (and so dropped) the
// session's own fence, must still be refused when its replay predates that
// fence. The interleaving is forced: the slow read's locked part runs after
// the other read's whole admits.
func TestReplicaFenceRefusesASlowReadOfAFenceDroppedMeanwhile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		drop func(t *testing.T, f *replicaFence) // what happens while the slow read waits for mu
	}{
		{"a later read passes the fence", func(t *testing.T, f *replicaFence) {
			if !f.admits("a", 200) {
				t.Fatal("a replica past the fence was refused")
			}
		}},
		{"a fold drops the fence", func(t *testing.T, f *replicaFence) {
			if !f.admits("b", 200) { // reports the replica past "a"'s fence
				t.Fatal("an unfenced session was refused")
			}
			for i := range maxFencedHashes / 2 {
				f.resolve(fmt.Sprint(i), 300)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f replicaFence
			f.resolve("a", 150)
			// The slow read (replayed 100) passes the lock-free checks: the
			// global fence is still 0.
			if f.blocked.Load() > 0 || f.unknownSince.Load() != 0 || 100 < f.lsn.Load() {
				t.Fatal("the slow read's lock-free checks refused it; the test proves nothing")
			}
			tt.drop(t, &f)
			f.mu.Lock()
			_, kept := f.hashes["a"]
			admitted := f.admitsLocked("a", 100)
			f.mu.Unlock()
			if kept {
				t.Fatal("the fence was not dropped; the test proves nothing")
			}
			if admitted {
				t.Error("a read from before the session's dropped fence was admitted")
			}
		})
	}
}
