package topology

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/pgstore"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, func() {
		if binDir != "" {
			os.RemoveAll(binDir)
		}
	})
}

// binDir holds the built testserver; TestMain removes it.
var binDir string

// serverBinary builds testserver once per test binary.
var serverBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sg-testserver-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "testserver")
	out, err := exec.Command("go", "build", "-o", bin, "./testserver").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./testserver: %w\n%s", err, out)
	}
	return bin, nil
})

// instance is one running testserver process.
type instance struct {
	url    string
	stderr *bytes.Buffer
}

// syncWriter guards a buffer the child writes and the test reads.
type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// readyLimit bounds the wait for an instance to become ready or its cache
// to answer. Generous: with -cache, ready waits for the listener's first
// proof, which on a loaded two-core machine can take seconds.
const readyLimit = 2 * time.Minute

// startInstance runs testserver with args and waits until it serves. The
// process is killed when t ends; its stderr is logged if t failed. Its stdin
// is a pipe this process holds open: if the test binary dies without its
// cleanups (a -timeout panic, a kill), testserver sees the pipe close and
// exits rather than serve on as an orphan.
func startInstance(t *testing.T, args ...string) *instance {
	t.Helper()
	bin, err := serverBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	stderr := &bytes.Buffer{}
	sw := &syncWriter{b: stderr}
	cmd.Stderr = sw
	if _, err := cmd.StdinPipe(); err != nil { // closed by Wait
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			sw.mu.Lock()
			t.Logf("testserver %v stderr:\n%s", args, stderr.String())
			sw.mu.Unlock()
		}
	})
	ready := make(chan string, 1)
	exited := make(chan struct{}) // stdout closed: the process is gone
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- url
			}
		}
	}()
	select {
	case url := <-ready:
		return &instance{url: url, stderr: stderr}
	case <-exited:
		t.Fatalf("testserver %v exited before it was ready", args) // the cleanup logs its stderr
	case <-time.After(readyLimit):
		t.Fatalf("testserver %v did not become ready within %v", args, readyLimit)
	}
	return nil
}

var client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// check asks the instance whether token's session is live: the status code.
func (in *instance) check(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, in.url+"/check", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("GET /check: %v", err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// revoke ends token's session through the instance; it returns once the
// instance's Revoke has.
func (in *instance) revoke(t *testing.T, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, in.url+"/revoke", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST /revoke: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "true" {
		t.Fatalf("POST /revoke = %d %q; want 200 true", resp.StatusCode, body)
	}
}

// state is testserver's GET /state.
type state struct {
	Listening        bool   `json:"listening"`
	Hits             uint64 `json:"hits"`
	Misses           uint64 `json:"misses"`
	Entries          int    `json:"entries"`
	ReplicaServed    uint64 `json:"replica_served"`
	ReplicaFallbacks uint64 `json:"replica_fallbacks"`
}

func (in *instance) state(t *testing.T) state {
	t.Helper()
	resp, err := client.Get(in.url + "/state")
	if err != nil {
		t.Fatalf("GET /state: %v", err)
	}
	defer resp.Body.Close()
	var st state
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET /state: %v", err)
	}
	return st
}

// newToken returns a fresh opaque token (the Guard's form) and its hash.
func newToken(t *testing.T) (token, hash string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashOf(token)
}

// sessions creates n control-panel sessions for one user and returns their
// tokens.
func sessions(t *testing.T, pool *pgxpool.Pool, n int) []string {
	t.Helper()
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	user := pgtest.CreateUser(t, pool, fmt.Sprintf("u%d@example.com", time.Now().UnixNano()), 0)
	tokens := make([]string, n)
	for i := range tokens {
		var hash string
		tokens[i], hash = newToken(t)
		if _, err := store.Create(t.Context(), sessionguard.NewSession{TokenHash: hash, UserID: user, AppType: sessionguard.ControlPanel}); err != nil {
			t.Fatal(err)
		}
	}
	return tokens
}

// failoverConnString names both servers, primary first, and accepts only
// the one that takes writes: what an app's primary pool is given.
func failoverConnString(servers ...*pgtemp.Server) string {
	var hosts, ports []string
	for _, s := range servers {
		hosts = append(hosts, s.Dir())
		ports = append(ports, fmt.Sprint(s.Port()))
	}
	return fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable target_session_attrs=read-write",
		strings.Join(hosts, ","), strings.Join(ports, ","))
}

// eventually polls cond every few milliseconds until it holds, failing t
// after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hashOf is the hash the sessions table keeps for token.
func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
