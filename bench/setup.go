package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionguard/sessionguard/internal/pgtemp"
	"github.com/sessionguard/sessionguard/internal/pgtest"
	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/schema"
)

// Database names on the throwaway server.
const (
	benchDB = "bench" // users, tenants, sessions (sessionguard's schema)
	scsDB   = "scs"   // scs's own "sessions" table (the name clashes with ours)
)

// sessionCookie carries the opaque token of the seed, default and cached
// variants: the Guard's default cookie name.
const sessionCookie = middleware.DefaultCookieName

// startServer starts a throwaway PostgreSQL with pg_stat_statements
// preloaded, creates both databases and migrates the bench one.
func startServer(ctx context.Context, maxConns int) (*pgtemp.Server, error) {
	srv, err := pgtemp.Start(ctx, pgtemp.Options{
		MaxConnections: maxConns,
		Settings: map[string]string{
			"shared_preload_libraries": "'pg_stat_statements'",
			"pg_stat_statements.track": "'top'",
		},
	})
	if err != nil {
		return nil, err
	}
	admin, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		srv.Close()
		return nil, err
	}
	defer admin.Close(ctx)
	for _, sql := range []string{
		"CREATE DATABASE " + benchDB,
		"CREATE DATABASE " + scsDB,
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			srv.Close()
			return nil, fmt.Errorf("%s: %w", sql, err)
		}
	}
	return srv, nil
}

func newPool(ctx context.Context, srv *pgtemp.Server, db, app string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(srv.ConnString(db))
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	return pgxpool.NewWithConfig(ctx, cfg)
}

// prepareSchemas creates the fixture tables and sessionguard's migrations in
// the bench database, and scs's table (as its README gives it) in the scs one.
func prepareSchemas(ctx context.Context, bench, scsPool *pgxpool.Pool, users int) error {
	if _, err := bench.Exec(ctx, "CREATE EXTENSION pg_stat_statements"); err != nil {
		return err
	}
	if _, err := bench.Exec(ctx, pgtest.FixtureSQL); err != nil {
		return err
	}
	if err := schema.Migrate(ctx, bench); err != nil {
		return err
	}
	if _, err := bench.Exec(ctx, `INSERT INTO users (email) SELECT 'user' || g || '@bench.example' FROM generate_series(1, $1) g`, users); err != nil {
		return err
	}
	_, err := scsPool.Exec(ctx, `CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
		CREATE INDEX sessions_expiry_idx ON sessions (expiry);`)
	return err
}

// sessionSet is one variant's own sessions: no other variant touches them.
type sessionSet struct {
	name    string
	users   [2]int64 // user id range [from, to], to tell the set apart in SQL
	tokens  []string // opaque tokens or JWTs
	hashes  []string
	headers []string // the header values that carry the tokens
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// opaqueCookie makes a session's token an opaque one in the Guard's cookie.
func opaqueCookie(string, int64) (token, header string, err error) {
	t := randomToken()
	return t, sessionCookie + "=" + t, nil
}

// jwtBearer makes a session's token a JWT naming the session's row and user,
// signed with secret, in an Authorization header.
func jwtBearer(secret []byte) func(id string, user int64) (string, string, error) {
	return func(id string, user int64) (string, string, error) {
		t, err := signJWT(secret, id, user)
		return t, "Bearer " + t, err
	}
}

// createSessions inserts n sessionguard sessions for users [firstUser,
// firstUser+users) with COPY, as pgstore.Create would insert them (4 h idle,
// 8 h absolute, from the database's clock), each with the token tokenOf
// makes for its row id and user.
func createSessions(ctx context.Context, pool *pgxpool.Pool, name string, n int, firstUser, users int64,
	tokenOf func(id string, user int64) (token, header string, err error)) (*sessionSet, error) {
	set := &sessionSet{name: name, users: [2]int64{firstUser, firstUser + users - 1}}
	var now time.Time
	if err := pool.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return nil, err
	}
	rows := make([][]any, n)
	for i := range n {
		id, user := randomUUID(), firstUser+int64(i)%users
		tok, header, err := tokenOf(id, user)
		if err != nil {
			return nil, err
		}
		set.tokens = append(set.tokens, tok)
		set.hashes = append(set.hashes, hashOf(tok))
		set.headers = append(set.headers, header)
		rows[i] = []any{id, user, set.hashes[i], now.Add(8 * time.Hour), "127.0.0.1", "sessionguard-bench", "control_panel", int32(14400)}
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"sessions"},
		[]string{"id", "user_id", "session_token_hash", "absolute_expires_at", "ip_address", "user_agent", "app_type", "idle_timeout_seconds"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return nil, fmt.Errorf("create %s sessions: %w", name, err)
	}
	return set, nil
}

// createSCSSessions creates n scs sessions through scs itself and returns
// their Cookie header values.
func createSCSSessions(ctx context.Context, sm *scs.SessionManager, n int) ([]string, error) {
	cookies := make([]string, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				c, err := sm.Load(ctx, "")
				if err == nil {
					sm.Put(c, "user_id", i+1)
					var tok string
					tok, _, err = sm.Commit(c)
					cookies[i] = sm.Cookie.Name + "=" + tok
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return cookies, firstErr
}

// jwtClaims are the JWT-only variant's claims: what a stateless JWT session
// carries (about 255 bytes signed).
type jwtClaims struct {
	jwt.RegisteredClaims
	SID string `json:"sid"`
}

const (
	jwtIssuer   = "https://auth.bench.example"
	jwtAudience = "https://app.bench.example"
)

// jwtKeyID is the "kid" of the bench's HS256 key.
const jwtKeyID = "bench"

// signJWT signs an HS256 token for the session id and user, valid for 8 h.
func signJWT(secret []byte, sessionID string, user int64) (string, error) {
	now := time.Now()
	c := jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    jwtIssuer,
			Subject:   strconv.FormatInt(user, 10),
			Audience:  jwt.ClaimStrings{jwtAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(8 * time.Hour)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomToken()[:22],
		},
		SID: sessionID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = jwtKeyID
	return t.SignedString(secret)
}

// makeJWTs signs n tokens for the JWT-only variant (no row behind them) and
// returns their Authorization header values.
func makeJWTs(secret []byte, n int) ([]string, error) {
	out := make([]string, n)
	for i := range n {
		s, err := signJWT(secret, randomUUID(), int64(i+1))
		if err != nil {
			return nil, err
		}
		out[i] = "Bearer " + s
	}
	return out, nil
}
