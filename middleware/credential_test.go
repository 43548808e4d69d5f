package middleware_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

// oneAppGuards are the two ways one app takes every credential, over one
// real database whose queries are counted: a Guard with its own cookie
// (opaque tokens and JWTs, as cookie or bearer) and a Guard on scs (the scs
// cookie, and opaque or JWT bearer tokens).
type oneAppGuards struct {
	db        realDB
	own, scs  *middleware.Guard
	sm        *scs.SessionManager
	opaqueTok string // a recorded opaque token
	jwtTok    string // a JWT the own Guard minted
	scsTok    string // the scs session's token, signed in
}

func newOneAppGuards(t *testing.T) *oneAppGuards {
	t.Helper()
	a := &oneAppGuards{db: newRealDB(t, pgstore.Config{})}
	base := middleware.Config{
		Store: a.db.store, AppType: sessionguard.ControlPanel, Logger: discard,
		Tokens: middleware.OpaqueTokens | middleware.JWTs, JWT: hmacJWT(),
	}
	var err error
	if a.own, err = middleware.New(base); err != nil {
		t.Fatal(err)
	}
	a.sm = goodSessionManager()
	withSCS := base
	withSCS.SCS = a.sm
	if a.scs, err = middleware.New(withSCS); err != nil {
		t.Fatal(err)
	}
	// The own Guard mints JWTs (it can sign) and records an opaque token
	// issued elsewhere.
	if a.jwtTok, _, err = a.own.SignIn(nil, nil, middleware.SignIn{UserID: a.db.user}); err != nil {
		t.Fatal(err)
	}
	a.opaqueTok = randomToken(t)
	if _, err := a.own.Record(nil, nil, a.opaqueTok, middleware.SignIn{UserID: a.db.user}); err != nil {
		t.Fatal(err)
	}
	a.scs.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.scsTok, _, err = a.scs.SignIn(w, r, middleware.SignIn{UserID: a.db.user}); err != nil {
			t.Fatal(err)
		}
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil))
	return a
}

// serve runs r through g (inside its LoadAndSave for the scs Guard) and returns
// the status, the refusal reason and how many queries it cost.
func (a *oneAppGuards) serve(g *middleware.Guard, r *http.Request) (status int, reason string, queries int64) {
	var h http.Handler = g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	if g == a.scs {
		h = a.scs.LoadAndSave(h)
	}
	before := a.db.queries.n.Load()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Header().Get(middleware.HeaderEndReason), a.db.queries.n.Load() - before
}

// One Guard per app takes every credential its Config accepts, told apart
// by shape: no routing by hand.
func TestOneGuardTakesEveryCredential(t *testing.T) {
	t.Parallel()
	a := newOneAppGuards(t)
	const name = "__Host-session="
	tests := []struct {
		name  string
		guard *middleware.Guard
		r     *http.Request
	}{
		{"own: opaque cookie", a.own, request([]string{name + a.opaqueTok})},
		{"own: JWT cookie", a.own, request([]string{name + a.jwtTok})},
		{"own: opaque bearer", a.own, request(nil, "Bearer "+a.opaqueTok)},
		{"own: JWT bearer", a.own, request(nil, "Bearer "+a.jwtTok)},
		{"own: cookie and the same bearer", a.own, request([]string{name + a.jwtTok}, "Bearer "+a.jwtTok)},
		{"scs: the scs cookie", a.scs, request([]string{name + a.scsTok})},
		{"scs: the scs cookie and the same bearer", a.scs, request([]string{name + a.scsTok}, "Bearer "+a.scsTok)},
		{"scs: opaque bearer", a.scs, request(nil, "Bearer "+a.opaqueTok)},
		{"scs: JWT bearer", a.scs, request(nil, "Bearer "+a.jwtTok)},
		{"scs: the scs token as a bearer", a.scs, request(nil, "Bearer "+a.scsTok)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, reason, _ := a.serve(tt.guard, tt.r); status != http.StatusOK {
				t.Fatalf("status %d (%s), want 200", status, reason)
			}
		})
	}
}

// Credentials that disagree, or a token of a kind the Guard does not take,
// are refused before the database is asked anything.
func TestDisagreeingCredentialsCostNoQuery(t *testing.T) {
	t.Parallel()
	a := newOneAppGuards(t)
	const name = "__Host-session="
	forged := a.jwtTok[:strings.LastIndexByte(a.jwtTok, '.')+1] + strings.Repeat("A", 43)
	jwtOnly, err := middleware.New(middleware.Config{Store: a.db.store, Logger: discard, JWT: hmacJWT()})
	if err != nil {
		t.Fatal(err)
	}
	opaqueOnly, err := middleware.New(middleware.Config{Store: a.db.store, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		guard  *middleware.Guard
		r      *http.Request
		reason string
	}{
		{"cookie and another bearer", a.own, request([]string{name + a.opaqueTok}, "Bearer "+a.jwtTok), "invalid"},
		{"two cookies of the name", a.own, request([]string{name + a.opaqueTok, name + a.opaqueTok}), "invalid"},
		{"malformed Authorization next to a cookie", a.own, request([]string{name + a.opaqueTok}, "Bearer a b"), "malformed_request"},
		{"two Authorization headers", a.own, request(nil, "Bearer "+a.opaqueTok, "Bearer "+a.opaqueTok), "malformed_request"},
		{"forged JWT", a.own, request(nil, "Bearer "+forged), "invalid"},
		{"neither opaque nor JWT", a.own, request(nil, "Bearer "+strings.Repeat("A", 44)), "invalid"},
		{"scs cookie and another bearer", a.scs, request([]string{name + a.scsTok}, "Bearer "+a.opaqueTok), "invalid"},
		{"scs cookie and a malformed Authorization", a.scs, request([]string{name + a.scsTok}, "Bearer "), "malformed_request"},
		{"two scs cookies", a.scs, request([]string{name + a.scsTok + "; " + name + a.scsTok}), "invalid"},
		{"a JWT in the scs cookie", a.scs, request([]string{name + a.jwtTok}), "invalid"},
		{"opaque token to a JWT-only Guard", jwtOnly, request(nil, "Bearer "+a.opaqueTok), "invalid"},
		{"JWT to an opaque-only Guard", opaqueOnly, request(nil, "Bearer "+a.jwtTok), "invalid"},
		{"nothing", a.own, request(nil), "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reason, queries := a.serve(tt.guard, tt.r)
			want := http.StatusUnauthorized
			if tt.reason == "malformed_request" {
				want = http.StatusBadRequest // RFC 6750's invalid_request
			}
			if status != want || reason != tt.reason {
				t.Fatalf("status %d (%s), want %d (%s)", status, reason, want, tt.reason)
			}
			if queries != 0 {
				t.Fatalf("%d queries for a request refused by its credentials", queries)
			}
		})
	}
}

// An scs cookie that scs no longer knows is never signed in, and is only
// peeked at to say why its session ended; a live scs session that was never
// signed in is missing, not invalid.
func TestSCSCredentialStates(t *testing.T) {
	t.Parallel()
	store := newFakeStore()
	sm := goodSessionManager()
	g, err := middleware.New(middleware.Config{SCS: sm, Store: store, AppType: sessionguard.ControlPanel, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() string {
		rec := httptest.NewRecorder()
		g.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, _, err := g.SignIn(w, r, middleware.SignIn{UserID: 3}); err != nil {
				t.Fatal(err)
			}
		})).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
		return rec.Result().Cookies()[0].Value
	}
	live, revoked := signIn(), signIn()
	if _, err := store.Revoke(t.Context(), sha256Hex(revoked), sessionguard.ReasonAdminRevoke); err != nil {
		t.Fatal(err)
	}
	// scs forgets the live one's data; the row lives on.
	dropped := signIn()
	if err := sm.Store.Delete(sha256B64(dropped)); err != nil {
		t.Fatal(err)
	}
	if err := sm.Store.Delete(sha256B64(revoked)); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	g.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "cart", "tea")
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	anonymous := rec.Result().Cookies()[0].Value

	tests := []struct {
		name, token, reason, endReason, call string
		status                               int
	}{
		{"signed in", live, "", "", "Validate", 200},
		{"scs dropped a live session's data", dropped, "invalid", "", "Peek", 401},
		{"scs dropped a revoked session's data", revoked, "revoked", "admin_revoke", "Peek", 401},
		{"anonymous scs session", anonymous, "missing", "", "Validate", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]int{"Validate": store.callCount("Validate"), "Peek": store.callCount("Peek")}
			rec := httptest.NewRecorder()
			g.LoadAndSave(g.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))).
				ServeHTTP(rec, request(cookie(tt.token)))
			if rec.Code != tt.status || rec.Header().Get(middleware.HeaderEndReason) != tt.reason {
				t.Fatalf("status %d (%s), want %d (%s)", rec.Code, rec.Header().Get(middleware.HeaderEndReason), tt.status, tt.reason)
			}
			if tt.endReason != "" && decodeBody(t, rec).EndReason != tt.endReason {
				t.Errorf("body %s, want end_reason %s", rec.Body, tt.endReason)
			}
			for _, m := range []string{"Validate", "Peek"} {
				want := 0
				if m == tt.call {
					want = 1
				}
				if got := store.callCount(m) - before[m]; got != want {
					t.Errorf("%s calls = %d, want %d", m, got, want)
				}
			}
		})
	}
}

// sha256B64 is how scs with HashTokenInStore names a token in its store.
func sha256B64(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
