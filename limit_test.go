package sessionguard_test

import (
	"testing"

	"github.com/sessionguard/sessionguard"
)

func TestLimitActionValid(t *testing.T) {
	t.Parallel()
	for a, want := range map[sessionguard.LimitAction]bool{
		sessionguard.EndLeastRecentlyActive: true, sessionguard.RefuseNewSession: true, -1: false, 2: false,
	} {
		if a.Valid() != want {
			t.Errorf("LimitAction(%d).Valid() = %v", a, !want)
		}
	}
}

func TestSessionLimitCheck(t *testing.T) {
	t.Parallel()
	for l, ok := range map[sessionguard.SessionLimit]bool{
		{}:       true,
		{Max: 3}: true,
		{Max: 1, AtLimit: sessionguard.RefuseNewSession}: true,
		{Max: sessionguard.MaxSessionLimit}:              true,
		{Max: -1}:                                        false,
		{Max: sessionguard.MaxSessionLimit + 1}:          false,
		{Max: 3, AtLimit: 7}:                             false,
	} {
		if err := l.Check(); (err == nil) != ok {
			t.Errorf("%+v.Check() = %v, want ok=%v", l, err, ok)
		}
	}
}
