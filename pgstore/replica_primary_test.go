package pgstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/pgstore"
)

// TestReadPoolNotInRecoveryIsNotUsed: a ReadPool whose server is not in
// recovery — here another primary holding the session still live, as a
// standby promoted in a disaster-recovery drill would while the real
// primary revokes — never answers: the revoked session is refused, reads
// skip that server for a while instead of asking it every time, and the
// change is logged once.
func TestReadPoolNotInRecoveryIsNotUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := newFixture(t, pgstore.Config{})
	other := newFixture(t, pgstore.Config{})
	hash, _ := primary.create(t, nil)
	if _, err := other.store.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: other.user, AppType: sessionguard.ControlPanel}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	store, err := pgstore.New(primary.pool, pgstore.Config{ReadPool: other.pool, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	pgstore.SetNotReplicaRecheck(store, time.Minute) // the checks below fall inside it, however slow the machine
	if _, err := store.Revoke(ctx, hash, sessionguard.ReasonLogout); err != nil {
		t.Fatalf("Revoke: %v; want nil (a server not in recovery is never waited for: its answers are not used)", err)
	}
	for _, check := range []func(context.Context, string, sessionguard.Scope) (sessionguard.Status, error){store.Peek, store.Validate} {
		st, err := check(ctx, hash, sessionguard.Scope{})
		if err != nil || st.State != sessionguard.StateRevoked {
			t.Fatalf("check of a revoked session = %v, %v; want revoked (the other server's live row is not used)", st.State, err)
		}
	}
	if got := store.ReplicaStats(); got.Served != 0 || got.Fallbacks != 2 || got.Errors != 0 {
		t.Errorf("ReplicaStats = %+v; want 2 fallbacks, nothing served", got)
	}
	// Within the window that follows, reads do not ask it at all: closed,
	// it would count an error.
	other.pool.Close()
	if st, err := store.Peek(ctx, hash, sessionguard.Scope{}); err != nil || st.State != sessionguard.StateRevoked {
		t.Fatalf("Peek = %v, %v; want revoked", st.State, err)
	}
	if got := store.ReplicaStats(); got.Errors != 0 || got.Fallbacks != 3 {
		t.Errorf("ReplicaStats = %+v; want the third read to skip the read pool", got)
	}
	if n := strings.Count(logs.String(), "not in recovery"); n != 1 || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("log %q; want one warning", logs.String())
	}
}
