package middleware_test

import (
	"context"
	"fmt"

	"github.com/sessionguard/sessionguard"
)

// Reauthenticate moves a live row to the new hash and records the
// authentication on the fake clock, as pgstore does; a new hash that a
// session holds or a re-authentication retired fails, as pgstore's unique
// index and migration 031 make it, with ErrDuplicateToken.
func (f *fakeStore) Reauthenticate(ctx context.Context, r sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "Reauthenticate"); err != nil {
		return sessionguard.SessionInfo{}, false, err
	}
	row, ok := f.rows[r.OldTokenHash]
	if !ok || !row.active || row.id != r.SessionID || !f.now.Before(row.absExpires) ||
		!f.now.Before(row.lastActivity.Add(row.n.IdleTimeout)) {
		return sessionguard.SessionInfo{}, false, nil
	}
	if f.taken(r.NewTokenHash) {
		return sessionguard.SessionInfo{}, false, fmt.Errorf("fake: %w", sessionguard.ErrDuplicateToken)
	}
	delete(f.rows, r.OldTokenHash)
	f.retired[r.OldTokenHash] = row
	row.n.TokenHash, row.n.ACR, row.n.AMR = r.NewTokenHash, r.ACR, r.AMR
	row.lastActivity, row.authTime = f.now, f.now
	if !r.AuthTime.IsZero() && r.AuthTime.Before(f.now) {
		row.authTime = r.AuthTime // as pgstore: an earlier authentication is kept
	}
	f.rows[r.NewTokenHash] = row
	n := row.n
	return sessionguard.SessionInfo{
		ID: row.id, UserID: n.UserID, TenantID: n.TenantID, AppType: n.AppType, IP: n.IP, UserAgent: n.UserAgent,
		CreatedAt: row.created, LastActivityAt: row.lastActivity, AbsoluteExpiresAt: row.absExpires,
		IdleTimeout: n.IdleTimeout, AuthTime: row.authTime, ACR: n.ACR, AMR: n.AMR,
	}, true, nil
}

// Reauthenticate fails quoting both hashes, as a careless store might.
func (leakyStore) Reauthenticate(_ context.Context, r sessionguard.Reauthentication) (sessionguard.SessionInfo, bool, error) {
	return sessionguard.SessionInfo{}, false, fmt.Errorf("rotate %s to %s: connection reset", r.OldTokenHash, r.NewTokenHash)
}
