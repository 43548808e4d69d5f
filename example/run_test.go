package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard/example/idp"
	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// TestRunWithoutDatabaseURL is `go run ./example` on a fresh machine: a
// throwaway PostgreSQL server is started, serves the example, and is gone
// once ctx ends (Ctrl-C).
func TestRunWithoutDatabaseURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{Addr: ln.Addr().String(), MetricsAddr: "127.0.0.1:0", DemoPassword: testPassword, IdleTimeout: testIdle,
		AbsoluteTimeout: testAbsolute, WarningThreshold: testWarning, ReauthWindow: defaultReauthWindow, bcryptCost: bcrypt.MinCost, cleanupInterval: defaultCleanupInterval, addressLimit: defaultAddressLimit, accountLimit: defaultAccountLimit,
		logger: slog.New(slog.DiscardHandler), listener: ln}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, out) }()

	deadline := time.After(2 * time.Minute)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("not serving after 2 minutes:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	m := regexp.MustCompile(`throwaway PostgreSQL in (\S+) \(removed on exit\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("banner does not name the throwaway server:\n%s", out.String())
	}
	dir := m[1]
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("throwaway server directory: %v", err)
	}
	for _, want := range []string{"admin@example.com", "staff@example.com", "alice@acme.example", "bob@globex.example", testPassword,
		"metrics:         http://127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %s", want)
		}
	}
	res, err := http.Post("http://"+ln.Addr().String()+"/t/globex/api/login", "application/json",
		strings.NewReader(`{"email":"bob@globex.example","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("login on the zero-config server: %d", res.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not return within a minute of cancel")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("throwaway server directory %s left behind (stat: %v)", dir, err)
	}
	if !strings.Contains(out.String(), "Shutting down") {
		t.Errorf("no shutdown message")
	}
}

// TestRunRefusesForeignTables: a database whose users table belongs to
// another application is refused with a message, not altered.
func TestRunRefusesForeignTables(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewBarePool(t) // users(id, email, tenant_id) of another shape
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config{MetricsAddr: "127.0.0.1:0", DemoPassword: testPassword, IdleTimeout: testIdle, AbsoluteTimeout: testAbsolute,
		WarningThreshold: testWarning, ReauthWindow: defaultReauthWindow, bcryptCost: bcrypt.MinCost, cleanupInterval: defaultCleanupInterval, addressLimit: defaultAddressLimit, accountLimit: defaultAccountLimit, logger: slog.New(slog.DiscardHandler),
		poolConfig: pool.Config(), listener: ln}
	err = run(t.Context(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "belongs to another application") {
		t.Fatalf("run on foreign tables: %v", err)
	}
	var sessions bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass('sessions') IS NOT NULL").Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions {
		t.Errorf("run migrated a database it refused")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cfg := config{Addr: "0.0.0.0:8080", DemoPassword: testPassword, IdleTimeout: testIdle,
		AbsoluteTimeout: testAbsolute, WarningThreshold: testWarning, bcryptCost: bcrypt.MinCost}
	if err := run(t.Context(), cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run on 0.0.0.0: %v", err)
	}
}

// TestRunCleansUp: the example runs a pgstore.Cleaner, as every instance
// should: a session that timed out is ended in the database (with the
// reason cleanup_expired_sessions gives) without any request for it.
func TestRunCleansUp(t *testing.T) {
	t.Parallel()
	s := startExample(t, func(c *config) { c.cleanupInterval = 200 * time.Millisecond })
	x := s.login("staff@example.com", "control_panel", 0)
	live := s.login("admin@example.com", "control_panel", 0)
	s.age(x.id, testIdle+time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var active bool
		var reason *string
		err := s.pool.QueryRow(t.Context(), "SELECT is_active, revoke_reason FROM sessions WHERE id = $1", x.id).Scan(&active, &reason)
		if err != nil {
			t.Fatal(err)
		}
		if !active {
			if reason == nil || *reason != "idle_timeout" {
				t.Errorf("ended with reason %v, want idle_timeout", reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timed-out session is still active 15 s later: no cleanup ran")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var active bool
	if err := s.pool.QueryRow(t.Context(), "SELECT is_active FROM sessions WHERE id = $1", live.id).Scan(&active); err != nil || !active {
		t.Errorf("the cleanup ended a live session (active %t, %v)", active, err)
	}
}

// TestStartingHandler: while the app is being built, the server answers the
// identity provider's JWKS (the tenant guard fetches it from this process)
// and 503 for everything else.
func TestStartingHandler(t *testing.T) {
	t.Parallel()
	h := &startingHandler{jwks: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })}
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", idp.JWKSPath, http.StatusTeapot},
		{"POST", idp.JWKSPath, http.StatusServiceUnavailable},
		{"GET", "/cp/", http.StatusServiceUnavailable},
		{"POST", "/api/login", http.StatusServiceUnavailable},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s while starting: %d, want %d", tt.method, tt.path, rec.Code, tt.status)
		}
	}
}

// TestRunShutdownIsGraceful: on Ctrl-C or SIGTERM (ctx ends) both listeners
// stop taking connections at once, a request in flight still gets its
// answer, and run returns nil after it.
func TestRunShutdownIsGraceful(t *testing.T) {
	t.Parallel()
	s := startExample(t)
	addr := strings.TrimPrefix(s.base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The request is in flight: its handler runs, waiting for the body. (The
	// server answers "100 Continue" when the handler starts reading it.)
	body := `{"email":"staff@example.com","password":"` + testPassword + `"}`
	if _, err := fmt.Fprintf(conn, "POST /api/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "\r\n" {
		t.Fatalf("100 Continue not followed by an empty line: %q %v", line, err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()

	for _, base := range []string{s.base, s.metricsBase} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				break // no longer listening
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%s still takes connections 5 s after ctx ended", base)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	select {
	case err := <-stopped:
		t.Fatalf("run returned before the request in flight was answered: %v", err)
	default:
	}
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the request in flight: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"token"`) {
		t.Errorf("the request in flight: %d %s, want 200 with a token", res.StatusCode, b)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestRunFailsFastOnSilentDatabase: a DATABASE_URL whose server takes the
// connection but never answers (a wrong port, a stuck proxy) fails the start
// with a message after the connect timeout, instead of hanging for good; the
// message names DATABASE_URL and not its password.
func TestRunFailsFastOnSilentDatabase(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	cfg := config{DatabaseURL: "postgres://app:s3cret-pw@" + silent.Addr().String() + "/app", Addr: "127.0.0.1:0",
		MetricsAddr: "127.0.0.1:0", DemoPassword: testPassword, IdleTimeout: testIdle, AbsoluteTimeout: testAbsolute,
		WarningThreshold: testWarning, ReauthWindow: defaultReauthWindow, bcryptCost: bcrypt.MinCost, cleanupInterval: defaultCleanupInterval,
		addressLimit: defaultAddressLimit, accountLimit: defaultAccountLimit, logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(t.Context(), defaultConnectTimeout+20*time.Second)
	defer cancel()
	start := time.Now()
	err = run(ctx, cfg, io.Discard)
	took := time.Since(start)
	if err == nil || ctx.Err() != nil || took > defaultConnectTimeout+5*time.Second {
		t.Fatalf("run on a silent server: %v after %v, want an error after about %v", err, took, defaultConnectTimeout)
	}
	if !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error does not name DATABASE_URL, or shows its password: %v", err)
	}
}

// TestPoolCancelsInPlace: the example's pool asks PostgreSQL to cancel a
// statement whose caller gave up, keeping the connection (README, "When a
// caller gives up"; pgstore's TestCancelledCheckKeepsTheConnection shows
// the difference), for every source of its configuration.
func TestPoolCancelsInPlace(t *testing.T) {
	t.Parallel()
	base := pgtest.NewEmptyPool(t)
	db, err := openDatabase(t.Context(), config{poolConfig: base.Config()}, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	conn, err := db.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	h := db.pool.Config().ConnConfig.BuildContextWatcherHandler(conn.Conn().PgConn())
	c, ok := h.(*pgconn.CancelRequestContextWatcherHandler)
	if !ok {
		t.Fatalf("the pool's connections handle a cancelled context with %T, want a cancel request", h)
	}
	if c.DeadlineDelay != 500*time.Millisecond {
		t.Errorf("DeadlineDelay %v, want README's 500ms", c.DeadlineDelay)
	}
}
