package pgstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard"
)

// SCSStore is a session store for github.com/alexedwards/scs/v2 (it satisfies
// scs.Store, scs.CtxStore, scs.IterableStore and scs.IterableCtxStore) that
// keeps scs's data next to the sessions table, in sessionguard_scs_data
// (migration 026), so that sessionguard decides whether the data is still
// there:
//
//   - Find reports not found when the sessionguard session of the token has
//     ended (revoked, signed out) or is past its idle or absolute timeout,
//     whatever scs's own expiry says.
//   - When a session ends, a trigger deletes its data, whoever ended it
//     (pgstore, the seed's SQL functions, a plain UPDATE), and Commit never
//     writes data for a session that has ended. (A revocation under
//     REPEATABLE READ or SERIALIZABLE that waited on a Commit misses the
//     data that Commit stored; Find never returns it, and it goes with the
//     session's row: TestSCSRevocationWaitingOnTheCommit.)
//   - A token without a sessionguard session (an anonymous, pre-sign-in scs
//     session) keeps working with scs's own expiry.
//
// The store knows a signed-in session's data by the sessions row of its
// hash; data whose hash no sessions row holds is an anonymous session's.
// Nothing is stored under a hash a re-authentication rotated out (migration
// 034): a late Commit, from a request that loaded the data before the
// rotation, stores nothing. TRUNCATE sessions deletes the signed-in
// sessions' data with them. A session deleted with its user leaves no trace
// of its hash, so a late Commit under its token stores the data again as an
// anonymous session's; the token never signs in
// (TestSCSDataWithoutASessionsRow).
//
// scs's Iterate reads every live session, but with HashTokenInStore scs
// hashes the store's key again before a Destroy or RenewToken inside it
// reaches the store, so they delete nothing and return nil: sign a user out
// everywhere with Store.RevokeAll (TestSCSIterateCannotEndASession).
//
// The SessionManager must have HashTokenInStore set: scs then hands the store
// base64url(SHA-256(token)) instead of the token, and the store keys the row
// by the same hash in hex, which is how the sessions table knows the token.
// The token itself never reaches the database. (middleware.New checks this
// setting of Config.SCS.)
//
// Keys that are not of that form (43 base64url characters of a 32-byte hash)
// are never found and never stored.
//
// It works through a Store, on the Store's pool: a session that scs ends
// (Delete) ends as Store.Revoke ends it, fenced from the Store's read
// replica (Config.ReadPool) and waited for there, and logged as an
// EventRevoked. Its calls are timed in the Store's
// sessionguard.store.duration (operations scs_find, scs_commit, scs_delete,
// scs_all, scs_delete_expired) and traced as pgstore.SCSStore.<Method>
// spans, when the Store's Config gives providers.
type SCSStore struct {
	store           *Store // its pool, telemetry, fence and events
	logger          *slog.Logger
	cleanupInterval time.Duration
}

// SCSConfig tunes an SCSStore. The zero value is ready to use.
type SCSConfig struct {
	// CleanupInterval is the time between two passes of Run over the
	// expired data of anonymous scs sessions (DeleteExpired). 0 (default)
	// disables Run.
	CleanupInterval time.Duration
	// Logger receives the errors of Run's passes. It never receives a token
	// or a hash. Default slog.Default().
	Logger *slog.Logger
}

// NewSCSStore returns an SCSStore that works through store, whose pool,
// read replica, event log and metrics and traces (Config.MeterProvider,
// Config.TracerProvider) it shares.
func NewSCSStore(store *Store, cfg SCSConfig) (*SCSStore, error) {
	const op = "new scs store"
	if store == nil {
		return nil, invalid(op, "nil store")
	}
	if cfg.CleanupInterval < 0 {
		return nil, invalid(op, "CleanupInterval %v is negative", cfg.CleanupInterval)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &SCSStore{store: store, logger: logger, cleanupInterval: cfg.CleanupInterval}, nil
}

// scsOwnerEnded is true when the data row d belongs to a sessionguard session
// that is no longer live (liveSQL): ended, or past either timeout by the
// database's clock.
const scsOwnerEnded = `EXISTS (SELECT 1 FROM sessions s
	WHERE s.session_token_hash = d.token_hash AND NOT ` + liveSQL + `)`

// FindCtx returns the data of the session of key. found is false when there
// is none, when it has expired, when its sessionguard session is no longer
// live, or when key is malformed; err is for system errors only.
func (s *SCSStore) FindCtx(ctx context.Context, key string) (_ []byte, found bool, err error) {
	// A call with a malformed key is observed too, with the result its
	// caller gets (ok here and in Delete, error in Commit), as the Store's
	// calls with an invalid argument are: a SessionManager without
	// HashTokenInStore then shows as finds that never find and commits that
	// fail, rather than as silence. The span never carries the key.
	ctx, call := s.store.tel.start(ctx, opSCSFind)
	defer func() { call.endFind(ctx, found, err) }()
	hash, ok := scsHash(key)
	if !ok {
		return nil, false, nil
	}
	var b []byte // declared here, so that the malformed-key path allocates nothing
	err = s.store.pool.QueryRow(ctx, `SELECT d.data FROM sessionguard_scs_data d
		WHERE d.token_hash = $1 AND d.expiry > CURRENT_TIMESTAMP AND NOT `+scsOwnerEnded, hash).Scan(&b)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, wrapErr(ctx, "scs find", err)
	}
	return b, true, nil
}

// CommitCtx stores b as the data of key until expiry, replacing what was
// there. When key's sessionguard session has ended or expired it stores
// nothing and returns nil, as if the session had ended just after the write:
// a request that was in flight when its session was revoked cannot bring the
// data back. It locks the session row (FOR SHARE) for the statement, so a
// concurrent revocation either waits for the write and then deletes the data
// (under READ COMMITTED; see SCSStore for the stricter levels), or wins and
// the write does nothing.
func (s *SCSStore) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) (err error) {
	ctx, call := s.store.tel.start(ctx, opSCSCommit)
	defer func() { call.end(ctx, err) }()
	hash, ok := scsHash(key)
	if !ok {
		return invalid("scs commit", "key is not base64url(SHA-256(token)): set HashTokenInStore on the scs SessionManager")
	}
	if b == nil {
		b = []byte{}
	}
	// Sent again after a serialization failure: under REPEATABLE READ or
	// SERIALIZABLE, the FOR SHARE that waited for a touch of the row fails
	// (40001) once the touch commits, having stored nothing
	// (TestSCSCommitRacingATouch); a revocation that was the write finds
	// the session ended on the new try, and nothing is stored.
	_, err = s.store.exec(ctx, `WITH owner AS (
			SELECT `+liveSQL+` AS live
			FROM sessions s WHERE s.session_token_hash = $1
			FOR SHARE)
		INSERT INTO sessionguard_scs_data (token_hash, data, expiry)
		SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM owner WHERE NOT owner.live)
		ON CONFLICT (token_hash) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`,
		hash, b, expiry)
	if err != nil {
		return wrapErr(ctx, "scs commit", err)
	}
	return nil
}

// DeleteCtx deletes the data of key; an unknown or malformed key is a no-op.
//
// scs calls Delete when it retires a token (Destroy, RenewToken,
// MergeSession), so the sessionguard session of that token, if still active,
// ends too, with reason "logout": no session stays active that no cookie can
// reach any more. It ends as Store.Revoke ends it, in the statement that
// deletes the data: with the Store's read replica, DeleteCtx returns once
// the replica has replayed the end; past Config.ReplayWait it returns nil
// all the same (the session ended, and the Store refuses it until the
// replica has caught up) and logs a warning, because scs's Destroy and
// RenewToken stop at any error of Delete and would keep the token. The exception is a ctx
// from sessionguard.WithRotation for this token: the session is being
// re-authenticated and keeps going under its new token, so only the data
// is deleted.
func (s *SCSStore) DeleteCtx(ctx context.Context, key string) (err error) {
	ctx, call := s.store.tel.start(ctx, opSCSDelete)
	defer func() { call.end(ctx, err) }()
	hash, ok := scsHash(key)
	if !ok || hash == emptyTokenHash {
		return nil
	}
	if hash == sessionguard.RotationFrom(ctx) {
		// A re-authentication renews the token (middleware's
		// Guard.Reauthenticate): the session lives on under the new one,
		// and scs writes the data under it.
		_, err = s.store.exec(ctx, `DELETE FROM sessionguard_scs_data WHERE token_hash = $1`, hash)
		if err != nil {
			return wrapErr(ctx, "scs delete", err)
		}
		return nil
	}
	e := sessionguard.Event{Kind: sessionguard.EventRevoked, Reason: sessionguard.ReasonLogout, Count: 1}
	err = s.store.ending(func() error {
		return s.store.pool.QueryRow(ctx, scsDeleteSQL, sessionguard.ReasonLogout, hash).
			Scan(&e.SessionID, &e.UserID, &e.TenantID, &e.AppType)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // no active session of that token: its data alone is gone
	case err != nil:
		return wrapErr(ctx, "scs delete", err)
	}
	err = s.store.ended(ctx, "scs delete", hash, e)
	if errors.Is(err, sessionguard.ErrReplicaBehind) {
		// Ended, but the read replica has not replayed it yet. scs cannot
		// take "done, but": its Destroy and RenewToken stop at any error of
		// Delete, leaving the session's token in place. This Store refuses
		// the session meanwhile; the operator is told.
		s.logger.LogAttrs(ctx, slog.LevelWarn, "pgstore: scs delete done, but the read replica has not replayed it yet",
			slog.String("error", err.Error()))
		return nil
	}
	return err
}

// scsDeleteSQL ends the active session of token hash $2 (endSQL, reason $1)
// and deletes its data, in one statement, and returns who it ended, for
// the Store's event and fence; no row when no active session had the hash.
const scsDeleteSQL = `WITH ended AS (` + endSQL + `session_token_hash = $2
		RETURNING id::text, user_id, coalesce(tenant_id, 0), app_type),
	gone AS (DELETE FROM sessionguard_scs_data WHERE token_hash = $2)
	SELECT * FROM ended`

// AllCtx returns the data of every live session (not expired, and not
// belonging to a sessionguard session that has ended or expired), keyed as
// scs gave the keys to Commit. With no live session it returns an empty,
// non-nil map.
func (s *SCSStore) AllCtx(ctx context.Context) (_ map[string][]byte, err error) {
	ctx, call := s.store.tel.start(ctx, opSCSAll)
	defer func() { call.end(ctx, err) }()
	rows, err := s.store.pool.Query(ctx, `SELECT d.token_hash, d.data FROM sessionguard_scs_data d
		WHERE d.expiry > CURRENT_TIMESTAMP AND NOT `+scsOwnerEnded)
	if err != nil {
		return nil, wrapErr(ctx, "scs all", err)
	}
	defer rows.Close()
	all := map[string][]byte{}
	for rows.Next() {
		var hash string
		var b []byte
		if err := rows.Scan(&hash, &b); err != nil {
			return nil, wrapErr(ctx, "scs all", err)
		}
		key, ok := scsKey(hash)
		if !ok {
			continue // not written by this store
		}
		all[key] = b
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(ctx, "scs all", err)
	}
	return all, nil
}

// Find is FindCtx without a context.
func (s *SCSStore) Find(key string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), key)
}

// Commit is CommitCtx without a context.
func (s *SCSStore) Commit(key string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), key, b, expiry)
}

// Delete is DeleteCtx without a context.
func (s *SCSStore) Delete(key string) error {
	return s.DeleteCtx(context.Background(), key)
}

// All is AllCtx without a context.
func (s *SCSStore) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}

// emptyTokenHash is hex(SHA-256("")): scs deletes it when it destroys or
// renews a session it never stored (a new, empty one, such as
// Guard.LoadAndSave gives a cookie the Guard refuses by its shape). No
// session or data has it, so its delete asks nothing of the database.
const emptyTokenHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// scsHash turns the key scs gives a store with HashTokenInStore,
// base64url(SHA-256(token)) without padding, into the lowercase hex form of
// sessions.session_token_hash.
func scsHash(key string) (string, bool) {
	if len(key) != base64.RawURLEncoding.EncodedLen(32) {
		return "", false
	}
	var sum [33]byte
	n, err := base64.RawURLEncoding.Strict().Decode(sum[:], []byte(key))
	if err != nil || n != 32 {
		return "", false
	}
	return hex.EncodeToString(sum[:32]), true
}

// scsKey is the inverse of scsHash.
func scsKey(hash string) (string, bool) {
	if !validHash(hash) {
		return "", false
	}
	sum, err := hex.DecodeString(hash)
	if err != nil {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(sum), true
}
