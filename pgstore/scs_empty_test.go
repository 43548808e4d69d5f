package pgstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/sessionguard/sessionguard/pgstore"
)

// scs destroys or renews a session it never stored (the new, empty session
// that Guard.LoadAndSave gives a refused cookie, signed out) by deleting the
// empty token's key: that names no session and no data, and costs no query,
// so a flood of sign-outs with garbage cookies reaches no database. A
// closed pool shows it: any query would fail.
func TestSCSDeleteOfTheEmptyTokenAsksNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, pgstore.Config{})
	s := newSCSStore(t, f)
	f.pool.Close()
	empty := sha256.Sum256(nil)
	if err := s.DeleteCtx(context.Background(), base64.RawURLEncoding.EncodeToString(empty[:])); err != nil {
		t.Fatalf("DeleteCtx of the empty token's key: %v, want nil without a query", err)
	}
	if err := s.DeleteCtx(context.Background(), newSCSToken(t).key); err == nil {
		t.Fatal("DeleteCtx of a token's key on a closed pool succeeded: the test cannot tell a query from none")
	}
}
