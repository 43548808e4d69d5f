package pgstore_test

import (
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestCacheKeepsARecentSessionForThreeQuartersOfMaxEntries holds the Cache to
// CacheConfig.MaxEntries' promise about its coarse recency: a session is
// dropped no sooner than after three quarters of MaxEntries additions and
// uses of other sessions since its own last use, whether that use moved it
// to the front (the oldest entry, used) or not (an entry a few places from
// the front, used: it stays where it is).
func TestCacheKeepsARecentSessionForThreeQuartersOfMaxEntries(t *testing.T) {
	t.Parallel()
	const maxEntries = 16
	f := newFixture(t, pgstore.Config{})
	c := newCache(t, f.store, pgstore.CacheConfig{MaxEntries: maxEntries})
	runCache(t, c)
	fill := func() string {
		h, _ := f.create(t, nil)
		mustValidate(t, c, h, sessionguard.Scope{})
		return h
	}
	var held []string
	for range maxEntries {
		held = append(held, fill())
	}
	nearFront, oldest := held[maxEntries-3], held[0]
	for _, h := range []string{nearFront, oldest} { // their last use
		if _, wasHit := hit(t, c, h); !wasHit {
			t.Fatal("a held session missed")
		}
	}
	// oldest's use is itself a use of another session for nearFront.
	for range maxEntries*3/4 - 1 {
		fill()
	}
	for name, h := range map[string]string{"the session used near the front": nearFront, "the oldest session, used": oldest} {
		if _, wasHit := hit(t, c, h); !wasHit {
			t.Errorf("%s was dropped within three quarters of MaxEntries placements after its last use", name)
		}
	}
	if n := c.Stats().Entries; n != maxEntries {
		t.Errorf("%d entries; want the bound %d", n, maxEntries)
	}
}
