package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionguard/sessionguard/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Timeouts of the test servers: short, so that expiry can be reached by
// moving last_activity_at back in the database instead of waiting.
const (
	testIdle      = 20 * time.Second
	testAbsolute  = time.Hour
	testWarning   = 10 * time.Second
	testPassword  = "demo-password"
	startDeadline = 60 * time.Second
)

// exampleServer is the example running in-process, through run, on
// 127.0.0.1 and a fresh database of its own.
type exampleServer struct {
	t           *testing.T
	base        string
	metricsBase string       // the metrics listener's (METRICS_ADDR)
	stop        func() error // Ctrl-C: cancels run's ctx and returns what run returned
	pool        *pgxpool.Pool
	client      *http.Client
}

// startExample runs the example as `go run ./example` would, but on an empty
// pgtest database and a listener on a random port. It is stopped (ctx
// cancelled, run must return nil) when the test ends.
func startExample(t *testing.T, change ...func(*config)) *exampleServer {
	t.Helper()
	pool := pgtest.NewEmptyPool(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{
		Addr:             ln.Addr().String(),
		MetricsAddr:      mln.Addr().String(),
		DemoPassword:     testPassword,
		IdleTimeout:      testIdle,
		AbsoluteTimeout:  testAbsolute,
		WarningThreshold: testWarning,
		ReauthWindow:     defaultReauthWindow,
		bcryptCost:       bcrypt.MinCost,
		cleanupInterval:  defaultCleanupInterval,
		// Tests sign in often from one address; the per-account limit is
		// the default. TestSigninThrottled tests both.
		addressLimit:    rateLimit{every: time.Millisecond, burst: 10_000},
		accountLimit:    defaultAccountLimit,
		logger:          slog.New(slog.DiscardHandler),
		poolConfig:      pool.Config(),
		listener:        ln,
		metricsListener: mln,
	}
	for _, f := range change {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, out) }()
	var stopOnce sync.Once
	var stopErr error
	stop := func() error {
		stopOnce.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("run did not return within 30s of cancel")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	})
	s := &exampleServer{
		t:           t,
		base:        "http://" + ln.Addr().String(),
		metricsBase: "http://" + mln.Addr().String(),
		stop:        stop,
		pool:        pool,
		client: &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	// Ready once the banner is printed (the server is serving by then).
	deadline := time.Now().Add(startDeadline)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("run ended before serving: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("example not serving after %v", startDeadline)
		}
	}
	return s
}

// syncBuffer is a strings.Builder safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// cred is how a request proves its session: a bearer token, a cookie, or
// neither. net/http/cookiejar never sends Secure cookies over http, so tests
// set the Cookie header themselves (browsers do send them to 127.0.0.1).
type cred struct {
	bearer string
	cookie *http.Cookie
}

func bearer(token string) cred   { return cred{bearer: token} }
func cookie(c *http.Cookie) cred { return cred{cookie: c} }
func (c cred) String() string {
	return map[bool]string{true: "bearer", false: "cookie"}[c.bearer != ""]
}
func cookieOf(name, token string) cred { return cookie(&http.Cookie{Name: name, Value: token}) }

// response is a finished response with its body read.
type response struct {
	*http.Response
	body []byte
}

// json decodes the body into a map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", r.Request.Method, r.Request.URL.Path, r.body, err)
	}
	return m
}

// headerInt reads a whole-seconds header.
func (r response) headerInt(t *testing.T, name string) int {
	t.Helper()
	v := r.Header.Get(name)
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s %s: header %s = %q, want an integer", r.Request.Method, r.Request.URL.Path, name, v)
	}
	return n
}

// do sends a request as a same-origin browser or a script would. Extra
// headers are set last, so tests can add Origin or Sec-Fetch-Site.
func (s *exampleServer) do(method, path string, c cred, body io.Reader, header ...string) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.cookie != nil {
		req.Header.Set("Cookie", c.cookie.Name+"="+c.cookie.Value)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{res, b}
}

// postJSON posts a JSON body.
func (s *exampleServer) postJSON(path string, c cred, body string, header ...string) response {
	s.t.Helper()
	return s.do("POST", path, c, strings.NewReader(body), append([]string{"Content-Type", "application/json"}, header...)...)
}

// postForm posts a form, as a same-origin browser does.
func (s *exampleServer) postForm(path string, c cred, form url.Values, header ...string) response {
	s.t.Helper()
	return s.do("POST", path, c, strings.NewReader(form.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}, header...)...)
}

// session is a signed-in session: its token (also the cookie's value), its
// cookie and its id.
type session struct {
	token  string
	cookie *http.Cookie
	id     string
}

// login signs in through the app's POST …/api/login (the control panel's, or
// that of tenant tenantID's app) and fails the test unless it answers 200 with
// a token and the app's cookie.
func (s *exampleServer) login(email, app string, tenantID int64) session {
	s.t.Helper()
	path := "/api/login"
	if app == "tenant_app" {
		path = "/t/" + map[int64]string{acmeID: "acme", globexID: "globex"}[tenantID] + "/api/login"
	}
	res := s.postJSON(path, cred{}, `{"email":`+strconv.Quote(email)+`,"password":"`+testPassword+`"}`)
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("login %s: %d %s", email, res.StatusCode, res.body)
	}
	m := res.json(s.t)
	token, _ := m["token"].(string)
	id, _ := m["session_id"].(string)
	want := cpCookie
	if app == "tenant_app" {
		want = tenantCookie
	}
	var c *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == want {
			c = ck
		}
	}
	if token == "" || id == "" || c == nil || c.Value != token {
		s.t.Fatalf("login %s: token %t, session id %q, cookie %v; want all, cookie %s = token", email, token != "", id, c, want)
	}
	return session{token: token, cookie: &http.Cookie{Name: c.Name, Value: c.Value}, id: id}
}

// lastActivity reads a session's last_activity_at from the database.
func (s *exampleServer) lastActivity(id string) time.Time {
	s.t.Helper()
	var at time.Time
	if err := s.pool.QueryRow(context.Background(), "SELECT last_activity_at FROM sessions WHERE id = $1", id).Scan(&at); err != nil {
		s.t.Fatal(err)
	}
	return at
}

// age moves a session's clocks back by d, as if d had passed without
// activity: the database decides expiry, so this is time travel for it.
func (s *exampleServer) age(id string, d time.Duration) {
	s.t.Helper()
	_, err := s.pool.Exec(context.Background(),
		`UPDATE sessions SET last_activity_at = last_activity_at - make_interval(secs => $2),
			created_at = created_at - make_interval(secs => $2) WHERE id = $1`, id, d.Seconds())
	if err != nil {
		s.t.Fatal(err)
	}
}

// endReason is a refusal's reason and end reason.
func endReason(t *testing.T, r response) (reason, end string) {
	t.Helper()
	m := r.json(t)
	reason, _ = m["reason"].(string)
	end, _ = m["end_reason"].(string)
	if h := r.Header.Get("X-Session-End-Reason"); h != reason {
		t.Errorf("X-Session-End-Reason = %q, body reason %q", h, reason)
	}
	return reason, end
}

var errNoCookie = errors.New("no such cookie")

// setCookie finds the Set-Cookie of name in a response.
func setCookie(r response, name string) (*http.Cookie, error) {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, errNoCookie
}

// noticeRE finds the notice (flash or ?reason= message) of a page.
var noticeRE = regexp.MustCompile(`<p class="notice" role="status">([^<]*)</p>`)

// notice is the page's notice, "" for none. A page shows at most one.
func notice(t *testing.T, r response) string {
	t.Helper()
	all := noticeRE.FindAllSubmatch(r.body, -1)
	switch len(all) {
	case 0:
		return ""
	case 1:
		return html.UnescapeString(string(all[0][1]))
	}
	t.Errorf("%s %s shows %d notices, want at most one", r.Request.Method, r.Request.URL.Path, len(all))
	return ""
}

// browser keeps the control-panel cookie across requests as a browser does:
// it sends it, and takes the one a response sets or deletes.
type browser struct {
	s      *exampleServer
	cookie *http.Cookie // nil: none
}

func (s *exampleServer) browser(c *http.Cookie) *browser { return &browser{s: s, cookie: c} }

func (b *browser) cred() cred {
	if b.cookie == nil {
		return cred{}
	}
	return cookie(b.cookie)
}

// keep takes the control-panel cookie that res sets or deletes.
func (b *browser) keep(res response) response {
	if c, err := setCookie(res, cpCookie); err == nil {
		b.cookie = &http.Cookie{Name: c.Name, Value: c.Value}
		if c.MaxAge < 0 || c.Value == "" {
			b.cookie = nil
		}
	}
	return res
}

func (b *browser) get(path string) response {
	b.s.t.Helper()
	return b.keep(b.s.do("GET", path, b.cred(), nil))
}

func (b *browser) post(path string, form url.Values) response {
	b.s.t.Helper()
	return b.keep(b.s.postForm(path, b.cred(), form))
}

// redirectsTo checks that res is a 303 to location.
func redirectsTo(t *testing.T, res response, location string) {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != location {
		t.Fatalf("%s %s: %d → %q, want 303 → %q", res.Request.Method, res.Request.URL.Path,
			res.StatusCode, res.Header.Get("Location"), location)
	}
}

// flashOnce checks that the page at path shows want, and that a reload does
// not show it again.
func (b *browser) flashOnce(t *testing.T, path, want string) {
	t.Helper()
	res := b.get(path)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	if got := notice(t, res); got != want {
		t.Errorf("GET %s shows %q, want %q", path, got, want)
	}
	if got := notice(t, b.get(path)); got != "" {
		t.Errorf("reloading %s shows %q again", path, got)
	}
}
