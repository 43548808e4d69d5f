package pgstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// sentNothing is an error pgx raises before sending anything.
type sentNothing struct{}

func (sentNothing) Error() string     { return "sent nothing" }
func (sentNothing) SafeToRetry() bool { return true }

// A revocation whose statement fails with its outcome unknown (here its
// context ends while it waits for a row lock: pgx cancels it, and cannot
// tell whether a commit came first) fences this instance's replica as a
// lost position does: before, nothing was fenced, and a retry that found
// the session ended (false, nil) fenced nothing either, so the replica's
// "valid" still counted here until it replayed the revocation. Errors that
// ended nothing for certain fence nothing.
func TestEndingWithAnUnknownOutcomeFencesTheReplica(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	read := pgtest.NewPoolFromConnString(t, pool.Config().ConnString())
	s, err := New(pool, Config{ReadPool: read})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	user := pgtest.CreateUser(t, pool, fmt.Sprintf("ending-%d@example.com", time.Now().UnixNano()), 0)
	hash := fmt.Sprintf("%064x", time.Now().UnixNano())
	if _, err := s.Create(ctx, sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_token_hash = $1 FOR UPDATE", hash); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := s.Revoke(short, hash, sessionguard.ReasonLogout); err == nil {
		t.Fatal("a revoke behind a held row lock returned no error")
	}
	if s.fence.unknownSince.Load() == 0 {
		t.Error("a revoke of unknown outcome left the replica unfenced")
	}

	for _, c := range []struct {
		name string
		err  error
	}{
		{"nothing to end", pgx.ErrNoRows},
		{"PostgreSQL's error", fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001"})},
		{"nothing sent", sentNothing{}},
	} {
		s.fence.unknownSince.Store(0)
		s.endingFailed(c.err)
		if s.fence.unknownSince.Load() != 0 {
			t.Errorf("%s fenced the replica", c.name)
		}
	}
	noReplica, err := New(pool, Config{})
	if err != nil {
		t.Fatal(err)
	}
	noReplica.endingFailed(errors.New("connection lost"))
	if noReplica.fence.unknownSince.Load() != 0 {
		t.Error("a Store without a ReadPool fenced")
	}
}
