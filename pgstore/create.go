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
// The absolute expiry is computed by the database (CURRENT_TIMESTAMP + AbsoluteTimeout), so the
// database's clock alone decides when the session ends.
//
// It fails with ErrUnknownUser or ErrUnknownTenant when the ids do not exist,
// and with sessionguard.ErrDuplicateToken when the hash already has a
// session.
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
	idle, err := timeoutSeconds(op, "IdleTimeout", n.IdleTimeout, DefaultIdleTimeout)
	if err != nil {
		return sessionguard.SessionInfo{}, err
	}
	absolute, err := timeoutSeconds(op, "AbsoluteTimeout", n.AbsoluteTimeout, DefaultAbsoluteTimeout)
	if err != nil {
		return sessionguard.SessionInfo{}, err
	}

	info := sessionguard.SessionInfo{
		UserID:      n.UserID,
		TenantID:    n.TenantID,
		AppType:     n.AppType,
		UserAgent:   cleanText(n.UserAgent, maxUserAgentBytes),
		IdleTimeout: time.Duration(idle) * time.Second,
	}
	var ip *string
	if addr, err := netip.ParseAddr(n.IP); err == nil {
		// sessions.ip_address holds 45 bytes: the longest IPv6 text form
		// without a zone, which means nothing off this host anyway.
		info.IP = addr.Unmap().WithZone("").String()
		ip = &info.IP
	}
	err = s.pool.QueryRow(ctx, `
		INSERT INTO sessions (id, user_id, session_token_hash, absolute_expires_at,
			ip_address, user_agent, tenant_id, app_type, idle_timeout_seconds)
		VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, CURRENT_TIMESTAMP + make_interval(secs => $4),
			$5, $6, $7, $8, $9)
		RETURNING id::text, created_at, last_activity_at, absolute_expires_at`,
		nullIfEmpty(n.ID), n.UserID, n.TokenHash, absolute,
		ip, info.UserAgent, nullIfZero(n.TenantID), string(n.AppType), idle,
	).Scan(&info.ID, &info.CreatedAt, &info.LastActivityAt, &info.AbsoluteExpiresAt)
	if err != nil {
		return sessionguard.SessionInfo{}, wrapErr(op, err)
	}
	return info, nil
}

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

func nullIfZero(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
