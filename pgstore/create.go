package pgstore

import (
	"context"
	"net/netip"
	"time"

	"github.com/sessionguard/sessionguard"
)

const maxUserAgentBytes = 512

// Create inserts the session for a freshly issued token. Client-supplied text
// is made storable rather than refused: the IP is kept only when it parses as
// an address, and the User-Agent is made valid UTF-8 without NUL bytes and cut
// to 512 bytes.
//
// The absolute expiry and the authentication time are the database's
// (CURRENT_TIMESTAMP), so the database's clock alone decides when the session
// ends and how old its authentication is; n.AuthTime can only make the
// authentication older, never newer than the database's now.
//
// With n.Limit set, the insert and the limit are one transaction, serialised
// per user and app type (see SessionLimit in limit.go): concurrent sign-ins
// of one user never leave more than n.Limit.Max live sessions.
//
// It fails with ErrUnknownUser or ErrUnknownTenant when the ids do not exist,
// with sessionguard.ErrDuplicateToken when the hash already has a session,
// when a re-authentication rotated it out and that session's row still
// exists (Reauthenticate; migration 031), or when n.ID is a session's id
// already, and with an error matching sessionguard.ErrSessionLimit when the limit
// refuses it. When the limit ended sessions to make room and a read replica
// (Config.ReadPool) has not replayed that within ReplayWait, it returns the
// new session with sessionguard.ErrReplicaBehind, as a revoke does.
func (s *Store) Create(ctx context.Context, n sessionguard.NewSession) (_ sessionguard.SessionInfo, err error) {
	ctx, call := s.tel.start(ctx, opCreate)
	defer func() { call.end(ctx, err) }()
	const op = "create"
	if !validHash(n.TokenHash) {
		return sessionguard.SessionInfo{}, invalid(op, "token hash is not 64 lowercase hex characters")
	}
	if n.ID != "" && !validUUID(n.ID) {
		return sessionguard.SessionInfo{}, invalid(op, "session id is not a UUID")
	}
	if n.UserID <= 0 || n.UserID > maxInt32 {
		return sessionguard.SessionInfo{}, invalid(op, "user id %d out of range", n.UserID)
	}
	if n.TenantID < 0 || n.TenantID > maxInt32 {
		return sessionguard.SessionInfo{}, invalid(op, "tenant id %d out of range", n.TenantID)
	}
	if !n.AppType.Valid() {
		return sessionguard.SessionInfo{}, invalid(op, "app type %q is neither %q nor %q", n.AppType, sessionguard.ControlPanel, sessionguard.TenantApp)
	}
	if err := sessionguard.CheckAuthentication(n.ACR, n.AMR); err != nil {
		return sessionguard.SessionInfo{}, invalid(op, "%v", err)
	}
	if err := n.Limit.Check(); err != nil {
		return sessionguard.SessionInfo{}, invalid(op, "%v", err)
	}
	idle, err := timeoutSeconds(op, "IdleTimeout", n.IdleTimeout, DefaultIdleTimeout)
	if err != nil {
		return sessionguard.SessionInfo{}, err
	}
	absolute, err := timeoutSeconds(op, "AbsoluteTimeout", n.AbsoluteTimeout, DefaultAbsoluteTimeout)
	if err != nil {
		return sessionguard.SessionInfo{}, err
	}

	var ip *string
	if addr, err := netip.ParseAddr(n.IP); err == nil {
		// sessions.ip_address holds 45 bytes: the longest IPv6 text form
		// without a zone, which means nothing off this host anyway.
		v := addr.Unmap().WithZone("").String()
		ip = &v
	}
	args := []any{nullIfEmpty(n.ID), n.UserID, n.TokenHash, absolute,
		ip, cleanText(n.UserAgent, maxUserAgentBytes), nullIfZero(n.TenantID), string(n.AppType), idle,
		nullIfEmpty(n.ACR), nullIfNone(n.AMR), nullIfZeroTime(n.AuthTime)}

	var (
		info    sessionguard.SessionInfo
		evicted []sessionguard.Event
	)
	if n.Limit.Max == 0 {
		info, err = scanInfo(s.pool.QueryRow(ctx, insertSQL, args...))
	} else {
		info, evicted, err = s.createLimited(ctx, n.UserID, n.AppType, n.Limit, args)
	}
	if err != nil {
		return sessionguard.SessionInfo{}, wrapErr(ctx, op, err)
	}
	for _, e := range evicted {
		s.emit(ctx, e)
	}
	if len(evicted) > 0 {
		// Ended to make room: revoked, as by RevokeAll, and fenced and
		// waited for on a read replica the same way.
		return info, s.awaitReplay(ctx, op, "")
	}
	return info, nil
}

// insertSQL inserts a session; its arguments are Create's args.
const insertSQL = `INSERT INTO sessions (id, user_id, session_token_hash, absolute_expires_at,
		ip_address, user_agent, tenant_id, app_type, idle_timeout_seconds, auth_time, acr, amr)
	VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, CURRENT_TIMESTAMP + make_interval(secs => $4),
		$5, $6, $7, $8, $9, least(CURRENT_TIMESTAMP, $12::timestamptz), $10, $11)
	RETURNING ` + infoColumns

const maxInt32 = 1<<31 - 1

// timeoutSeconds turns a configured timeout into the whole seconds the schema
// stores, with def for zero.
func timeoutSeconds(op, name string, d, def time.Duration) (int32, error) {
	if d == 0 {
		d = def
	}
	if d < time.Second || d%time.Second != 0 || d/time.Second > maxInt32 {
		return 0, invalid(op, "%s %v must be a positive whole number of seconds", name, d)
	}
	return int32(d / time.Second), nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullIfNone(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	return values
}

func nullIfZeroTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullIfZero(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
