-- Migration: 038_sessionguard_seed_ends_in_hash_order.down.sql
-- Description: undoes 038_sessionguard_seed_ends_in_hash_order.sql:
-- revoke_all_user_sessions and cleanup_expired_sessions take their rows in
-- the plan's order again, and may deadlock with pgstore's touch batches.

-- 022's text, byte for byte.
CREATE OR REPLACE FUNCTION revoke_all_user_sessions(p_user_id INTEGER, p_reason VARCHAR(50) DEFAULT 'password_change')
RETURNS INTEGER AS $$
DECLARE
    v_updated INTEGER;
BEGIN
    UPDATE sessions
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = p_reason
    WHERE user_id = p_user_id
      AND is_active = true;
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    RETURN v_updated;
END;
$$ LANGUAGE plpgsql;

-- 023's text, byte for byte.
CREATE OR REPLACE FUNCTION cleanup_expired_sessions()
RETURNS INTEGER AS $$
DECLARE
    rows_affected INTEGER := 0;
    idle_rows INTEGER := 0;
BEGIN
    UPDATE sessions
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = 'absolute_timeout'
    WHERE is_active = true
      AND absolute_expires_at < CURRENT_TIMESTAMP;
    GET DIAGNOSTICS rows_affected = ROW_COUNT;

    UPDATE sessions
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = 'idle_timeout'
    WHERE is_active = true
      AND last_activity_at + make_interval(secs => idle_timeout_seconds) < CURRENT_TIMESTAMP;
    GET DIAGNOSTICS idle_rows = ROW_COUNT;

    RETURN rows_affected + idle_rows;
END;
$$ LANGUAGE plpgsql;
