package middleware_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// Load test figures: bounded so that it runs in every `go test ./...`.
const (
	loadDuration = 10 * time.Second
	loadClients  = 64
	loadSessions = 2000
)

// TestLoadWithRevocations runs 64 HTTP clients against a loopback server (the
// real middleware and pgstore.Store) while sessions are revoked at random:
// no 5xx while the database is up, no 200 for a token whose revocation had
// committed before the request was sent, and no goroutine left behind.
//
// Not parallel: it counts the process's goroutines.
func TestLoadWithRevocations(t *testing.T) {
	ctx := context.Background()
	db := newRealDB(t, pgstore.Config{})
	// Counted once the database server and pools exist; the traced pool's
	// own goroutine is closed at the end, so the count must drop to this or below.
	goroutinesBefore := runtime.NumGoroutine()
	g := newGuard(t, db.store, func(c *middleware.Config) { c.AppType = sessionguard.ControlPanel })

	tokens := make([]string, loadSessions)
	hashes := make([]string, loadSessions)
	for i := range tokens {
		tokens[i] = randomToken(t)
		sum := sha256.Sum256([]byte(tokens[i]))
		hashes[i] = hex.EncodeToString(sum[:])
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO sessions (user_id, session_token_hash, absolute_expires_at, app_type)
		SELECT $1, h, now() + interval '8 hours', 'control_panel' FROM unnest($2::text[]) h`, db.user, hashes); err != nil {
		t.Fatal(err)
	}

	ts := httptest.NewServer(g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
	transport := &http.Transport{MaxIdleConnsPerHost: loadClients}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	var (
		revoked   = make([]atomic.Bool, loadSessions) // set once the revocation has committed
		statuses  statusCounts
		lateOK    atomic.Int64 // 200 for a token revoked before the request was sent
		nRevoked  atomic.Int64
		revokeErr atomic.Value
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for c := range loadClients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := rng.IntN(loadSessions)
				wasRevoked := revoked[i].Load() // read before sending
				code := get(client, ts.URL, tokens[i])
				statuses.add(code)
				if wasRevoked && code == http.StatusOK {
					lateOK.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(99, 7))
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			i := rng.IntN(loadSessions)
			if revoked[i].Load() {
				continue
			}
			ok, err := db.store.Revoke(ctx, hashes[i], sessionguard.ReasonAdminRevoke)
			if err != nil {
				revokeErr.CompareAndSwap(nil, err)
				return
			}
			if ok {
				nRevoked.Add(1)
			}
			revoked[i].Store(true)
		}
	})
	time.Sleep(loadDuration)
	close(stop)
	wg.Wait()
	ts.Close()
	transport.CloseIdleConnections()

	got := statuses.snapshot()
	total := 0
	for _, n := range got {
		total += n
	}
	t.Logf("%d requests in %v from %d clients over %d sessions, %d revoked during the run: %v",
		total, loadDuration, loadClients, loadSessions, nRevoked.Load(), got)
	if err := revokeErr.Load(); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	for code, n := range got {
		if code != http.StatusOK && code != http.StatusUnauthorized {
			t.Errorf("%d responses with status %d (0 = transport error)", n, code)
		}
	}
	if n := lateOK.Load(); n != 0 {
		t.Errorf("%d requests passed with a token whose revocation had committed before they were sent", n)
	}
	if got[http.StatusOK] == 0 || got[http.StatusUnauthorized] == 0 || nRevoked.Load() == 0 {
		t.Errorf("the run did not exercise both outcomes: %v, %d revoked", got, nRevoked.Load())
	}

	// Everything the run started has ended.
	db.pool.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= goroutinesBefore {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after the run, %d before:\n%s", n, goroutinesBefore, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
