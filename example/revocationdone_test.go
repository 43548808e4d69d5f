package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard"
)

// TestRevocationDoneWhenTheReplicaIsBehind: a revocation the store made but
// its read replica has not replayed yet is done for the page (no error
// page, a warning for the operator); any other error stays an error.
func TestRevocationDoneWhenTheReplicaIsBehind(t *testing.T) {
	var logs bytes.Buffer
	a := &app{log: slog.New(slog.NewTextHandler(&logs, nil))}
	behind := fmt.Errorf("pgstore: revoke all except: %w within 10s: context deadline exceeded", sessionguard.ErrReplicaBehind)
	if err := a.revocationDone(context.Background(), behind); err != nil {
		t.Errorf("revocationDone(replica behind) = %v; want nil", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "read replica has not replayed") {
		t.Errorf("log %q; want a warning", logs.String())
	}
	down := errors.New("pgstore: revoke all except: connection refused")
	if err := a.revocationDone(context.Background(), down); err != down {
		t.Errorf("revocationDone(down) = %v; want the error itself", err)
	}
	if err := a.revocationDone(context.Background(), nil); err != nil {
		t.Errorf("revocationDone(nil) = %v", err)
	}
}
