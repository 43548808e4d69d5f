package pgstore

import "context"

// SeedStatus is what migration 022's get_session_status returns, plus whether
// the follow-up update_session_activity touched the row.
type SeedStatus struct {
	IsValid                     bool
	ExpiryReason                string // "idle" or "absolute" when this call found it expired; "" otherwise
	SecondsUntilIdleTimeout     int    // before the touch, as the seed computes it
	SecondsUntilAbsoluteTimeout int
	UserID                      int64
	TenantID                    int64
	Touched                     bool
}

// SeedValidate runs the seed's own contract: get_session_status, then, for a
// valid session, update_session_activity — two round trips and a write per
// request. It is the reference that Validate is tested and benchmarked
// against, and a fallback for databases where only migration 022 may run.
func (s *Store) SeedValidate(ctx context.Context, tokenHash string) (SeedStatus, error) {
	const op = "seed validate"
	if !validHash(tokenHash) {
		return SeedStatus{}, invalid(op, "token hash is not 64 lowercase hex characters")
	}
	var (
		st               SeedStatus
		reason           *string
		idle, abs        *int32
		userID, tenantID *int64
	)
	err := s.pool.QueryRow(ctx,
		`SELECT is_valid, expiry_reason, seconds_until_idle_timeout, seconds_until_absolute_timeout, user_id, tenant_id
		 FROM get_session_status($1)`, tokenHash).
		Scan(&st.IsValid, &reason, &idle, &abs, &userID, &tenantID)
	if err != nil {
		return SeedStatus{}, wrapErr(op, err)
	}
	st.ExpiryReason = deref(reason)
	st.SecondsUntilIdleTimeout = int(deref(idle))
	st.SecondsUntilAbsoluteTimeout = int(deref(abs))
	st.UserID = deref(userID)
	st.TenantID = deref(tenantID)
	if !st.IsValid {
		return st, nil
	}
	if err := s.pool.QueryRow(ctx, "SELECT update_session_activity($1)", tokenHash).Scan(&st.Touched); err != nil {
		return SeedStatus{}, wrapErr(op, err)
	}
	return st, nil
}
