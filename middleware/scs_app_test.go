package middleware_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// scsApp is an scs application on a real PostgreSQL, moved onto sessionguard
// as the README says: pgstore.SCSStore for scs's data, Config.SCS on the Guard,
// one cookie for both.
type scsApp struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	data   *pgstore.SCSStore
	sm     *scs.SessionManager
	guard  *middleware.Guard
	server *httptest.Server
}

const scsCookie = "__Host-session"

func newSCSApp(t *testing.T, pool *pgxpool.Pool) *scsApp {
	t.Helper()
	if pool == nil {
		pool = pgtest.NewPool(t)
	}
	store, err := pgstore.New(pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := pgstore.NewSCSStore(store, pgstore.SCSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sm := scs.New()
	sm.Store = data
	sm.HashTokenInStore = true
	sm.IdleTimeout = 0
	sm.Lifetime = 8 * time.Hour
	sm.Cookie.Name = scsCookie
	sm.Cookie.Secure = true
	sm.Cookie.SameSite = http.SameSiteLaxMode

	guard, err := middleware.New(middleware.Config{
		SCS:     sm,
		Store:   store,
		AppType: sessionguard.ControlPanel,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &scsApp{pool: pool, store: store, data: data, sm: sm, guard: guard}

	mux := http.NewServeMux()
	// Public: anonymous scs data, before any sign-in.
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "cart", r.FormValue("item"))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		uid, _ := strconv.ParseInt(r.FormValue("user"), 10, 64)
		if _, _, err := guard.SignIn(w, r, middleware.SignIn{UserID: uid}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "flash", "welcome")
	})
	protected := http.NewServeMux()
	protected.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "user=%d cart=%s flash=%s", s.UserID, sm.GetString(r.Context(), "cart"), sm.GetString(r.Context(), "flash"))
	})
	protected.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := guard.SignOut(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	protected.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		list, err := store.ListActive(r.Context(), s.UserID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ids := []string{}
		for _, info := range list {
			ids = append(ids, info.ID)
		}
		_ = json.NewEncoder(w).Encode(ids)
	})
	protected.HandleFunc("POST /sessions/{id}/end", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		ended, err := store.RevokeUserSession(r.Context(), s.UserID, r.PathValue("id"), sessionguard.ReasonLogout)
		if err != nil || !ended {
			http.Error(w, "not ended", http.StatusNotFound)
		}
	})
	// Unguarded, as sign-out pages usually are: it must work whatever the
	// state of the browser's session.
	mux.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) {
		if err := guard.SignOut(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.Handle("/", guard.Middleware(protected))

	a.server = httptest.NewServer(guard.LoadAndSave(mux))
	t.Cleanup(a.server.Close)
	return a
}

// browser is a client that keeps the session cookie by hand: the cookie is
// Secure and the test server is plain http, so a cookie jar would drop it.
type browser struct {
	t      *testing.T
	app    *scsApp
	cookie string
}

func (a *scsApp) browser(t *testing.T) *browser { return &browser{t: t, app: a} }

// response is what a request returned.
type response struct {
	status    int
	body      string
	endReason string // X-Session-End-Reason
	refusal   struct {
		Reason    string `json:"reason"`
		EndReason string `json:"end_reason"`
	}
	header http.Header
}

func (b *browser) do(method, path string) response {
	b.t.Helper()
	req, err := http.NewRequest(method, b.app.server.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "scs-test-browser")
	if b.cookie != "" {
		req.Header.Set("Cookie", scsCookie+"="+b.cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name != scsCookie {
			continue
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			b.t.Errorf("%s %s: cookie attributes Secure=%v HttpOnly=%v SameSite=%v", method, path, c.Secure, c.HttpOnly, c.SameSite)
		}
		if c.MaxAge < 0 || c.Value == "" {
			b.cookie = ""
		} else {
			b.cookie = c.Value
		}
	}
	r := response{status: resp.StatusCode, body: string(body), endReason: resp.Header.Get("X-Session-End-Reason"), header: resp.Header}
	if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &r.refusal)
	}
	return r
}

func (b *browser) expect(method, path string, status int) response {
	b.t.Helper()
	r := b.do(method, path)
	if r.status != status {
		b.t.Fatalf("%s %s = %d %q, want %d", method, path, r.status, r.body, status)
	}
	return r
}

// signIn signs b in as user and returns the sessions.id of the new session.
func (b *browser) signIn(user int64) string {
	b.t.Helper()
	b.expect("POST", "/login?user="+strconv.FormatInt(user, 10), http.StatusOK)
	var id string
	if err := b.app.pool.QueryRow(context.Background(), "SELECT id::text FROM sessions WHERE session_token_hash = $1",
		hashHex(b.cookie)).Scan(&id); err != nil {
		b.t.Fatalf("no sessions row for the new scs token: %v", err)
	}
	return id
}

func hashHex(token string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("%x", sum)
}

// scsKey is what scs hands its store for token with HashTokenInStore.
func scsKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// dataRows counts sessionguard_scs_data rows of token, behind the store's back.
func (a *scsApp) dataRows(t *testing.T, token string) int {
	t.Helper()
	var n int
	if err := a.pool.QueryRow(context.Background(), "SELECT count(*) FROM sessionguard_scs_data WHERE token_hash = $1",
		hashHex(token)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// sessionRow is the sessions row of token.
func (a *scsApp) sessionRow(t *testing.T, token string) (active bool, reason string) {
	t.Helper()
	var r *string
	if err := a.pool.QueryRow(context.Background(), "SELECT is_active, revoke_reason FROM sessions WHERE session_token_hash = $1",
		hashHex(token)).Scan(&active, &r); err != nil {
		t.Fatal(err)
	}
	if r != nil {
		reason = *r
	}
	return active, reason
}

func (a *scsApp) found(t *testing.T, token string) bool {
	t.Helper()
	_, found, err := a.data.FindCtx(context.Background(), scsKey(token))
	if err != nil {
		t.Fatal(err)
	}
	return found
}
