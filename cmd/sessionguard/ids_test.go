package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
)

// TestUserIDsAreDecimal: an id typed with a leading zero (copied from a
// zero-padded report) names the user with that decimal id. Read as Go
// literals, "010" was octal 8: revoke --user 010 ended user 8's sessions,
// list showed them, and --actor 010 recorded actor 8.
func TestUserIDsAreDecimal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ids := map[int64]bool{}
	for i := range 12 {
		ids[f.user(t, "user"+strconv.Itoa(i)+"@example.com")] = true
	}
	// meant has only octal digits and another user has its octal value.
	var meant, misread int64
	for id := range ids {
		if o, err := strconv.ParseInt(itoa(id), 8, 64); err == nil && o != id && ids[o] {
			meant, misread = id, o
			break
		}
	}
	if meant == 0 {
		t.Fatalf("no pair of user ids d and octal(d) among %v", ids)
	}
	typed := "0" + itoa(meant)
	want, _ := f.session(t, sessionguard.NewSession{UserID: meant})
	bystander, _ := f.session(t, sessionguard.NewSession{UserID: misread})
	env := dbEnv(f.pool)

	r := runCmd(t, env, nil, "sessions", "list", "--user", typed)
	if r.code != exitOK || !strings.Contains(r.stdout, want.ID) || strings.Contains(r.stdout, bystander.ID) {
		t.Errorf("list --user %s: exit status %d, stdout %q, stderr %q; want user %d's session only", typed, r.code, r.stdout, r.stderr, meant)
	}
	r = runCmd(t, env, nil, "sessions", "revoke", "--user", typed, "--reason", "admin_revoke", "--actor", typed, "--yes")
	if r.code != exitOK || !slices.Contains(strings.Fields(r.stderr), "actor_id="+itoa(meant)) {
		t.Errorf("revoke --user %s --actor %[1]s: exit status %d, stderr %q; want actor_id=%d", typed, r.code, r.stderr, meant)
	}
	if active, _ := f.endReason(t, want.ID); active {
		t.Errorf("user %d's session is still active after revoke --user %s", meant, typed)
	}
	if active, reason := f.endReason(t, bystander.ID); !active {
		t.Errorf("user %d's session ended (%s) by revoke --user %s", misread, reason, typed)
	}
}
