package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
)

// TestSessionsRevokeInterruptedWhileWaiting: a Ctrl-C (the context ending)
// while "revoke --everyone" waits on a row lock. The statement is cancelled
// in the database (nothing is ended once the lock goes), and the message says
// what the operator can know: one statement, all or nothing, so run the
// command again to see. A bare "context canceled" left them to guess whether
// every session had been ended.
func TestSessionsRevokeInterruptedWhileWaiting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.user(t, "user@example.com")
	locked, _ := f.session(t, sessionguard.NewSession{UserID: user})
	other, _ := f.session(t, sessionguard.NewSession{UserID: user})

	holder, err := f.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(t.Context(), "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", locked.ID); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	env := dbEnv(f.pool)
	var stdout bytes.Buffer
	var stderr lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"sessions", "revoke", "--everyone", "--reason", "key_leak", "--yes"},
			strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	}()
	waiting := func() bool {
		var n int
		if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND query LIKE '%doomed%' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	for deadline := time.Now().Add(30 * time.Second); !waiting(); {
		if time.Now().After(deadline) {
			t.Fatal("the revoke never waited on the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitFailure {
		t.Errorf("exit status %d, want %d", code, exitFailure)
	}
	if stdout.String() != "" {
		t.Errorf("stdout %q", stdout.String())
	}
	for _, want := range []string{"interrupted", "either every one of those sessions was ended or none was", "run the command again"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q does not say %q", stderr.String(), want)
		}
	}

	if err := holder.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); waiting(); {
		if time.Now().After(deadline) {
			t.Fatal("the revoke still runs 10s after the lock was released")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, id := range []string{locked.ID, other.ID} {
		if active, reason := f.endReason(t, id); !active {
			t.Errorf("session %s ended (%q) after the command was interrupted", id, reason)
		}
	}
}
