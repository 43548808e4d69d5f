-- sessionguard's 023_sessionguard_core.sql as golang-migrate version 23.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 023_sessionguard_core.down.sql
-- Description: undoes 023_sessionguard_core.sql. get_session_status and
-- cleanup_expired_sessions are 022's again, with its hard-coded 240-minute idle
-- timeout; sessionguard_check goes; and so does each session's own
-- idle_timeout_seconds, so a session created with a shorter idle timeout gets
-- the seed's 4 hours again. Run 024's down first: its trigger reads the column.

DROP FUNCTION IF EXISTS sessionguard_check(VARCHAR, BOOLEAN, INTEGER, VARCHAR, INTEGER);

-- 022's text, byte for byte.
CREATE OR REPLACE FUNCTION cleanup_expired_sessions()
RETURNS INTEGER AS $$
DECLARE
    rows_affected INTEGER := 0;
    idle_rows INTEGER := 0;
    idle_timeout_minutes INTEGER := 240; -- 4 hours
    absolute_cutoff TIMESTAMP WITH TIME ZONE;
    idle_cutoff TIMESTAMP WITH TIME ZONE;
BEGIN
    absolute_cutoff := CURRENT_TIMESTAMP;
    idle_cutoff := CURRENT_TIMESTAMP - (idle_timeout_minutes * INTERVAL '1 minute');

    -- Mark sessions as inactive if absolute timeout exceeded
    UPDATE sessions
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = 'absolute_timeout'
    WHERE is_active = true
      AND absolute_expires_at < absolute_cutoff;
    GET DIAGNOSTICS rows_affected = ROW_COUNT;

    -- Mark sessions as inactive if idle timeout exceeded
    UPDATE sessions
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = 'idle_timeout'
    WHERE is_active = true
      AND last_activity_at < idle_cutoff;
    GET DIAGNOSTICS idle_rows = ROW_COUNT;

    rows_affected := rows_affected + idle_rows;
    RETURN rows_affected;
END;
$$ LANGUAGE plpgsql;

-- 022's text, byte for byte.
CREATE OR REPLACE FUNCTION get_session_status(p_token_hash VARCHAR(64))
RETURNS TABLE (
    is_valid BOOLEAN,
    expiry_reason VARCHAR(50),
    seconds_until_idle_timeout INTEGER,
    seconds_until_absolute_timeout INTEGER,
    user_id INTEGER,
    tenant_id INTEGER
) AS $$
DECLARE
    v_session RECORD;
    v_idle_timeout_minutes INTEGER := 240; -- 4 hours
    v_warning_threshold_minutes INTEGER := 5;
    v_idle_expires_at TIMESTAMP WITH TIME ZONE;
    v_seconds_until_idle INTEGER;
    v_seconds_until_absolute INTEGER;
BEGIN
    -- Find the session
    SELECT s.* INTO v_session
    FROM sessions s
    WHERE s.session_token_hash = p_token_hash
      AND s.is_active = true;

    -- Session not found or inactive
    IF NOT FOUND THEN
        RETURN QUERY SELECT false::BOOLEAN, NULL::VARCHAR(50), NULL::INTEGER, NULL::INTEGER, NULL::INTEGER, NULL::INTEGER;
        RETURN;
    END IF;

    -- Calculate expiration times
    v_idle_expires_at := v_session.last_activity_at + (v_idle_timeout_minutes * INTERVAL '1 minute');

    -- Check absolute timeout first
    IF CURRENT_TIMESTAMP >= v_session.absolute_expires_at THEN
        -- Mark session as expired
        UPDATE sessions
        SET is_active = false,
            revoked_at = CURRENT_TIMESTAMP,
            ended_at = CURRENT_TIMESTAMP,
            revoke_reason = 'absolute_timeout'
        WHERE session_token_hash = p_token_hash;

        RETURN QUERY SELECT false::BOOLEAN, 'absolute'::VARCHAR(50), NULL::INTEGER, NULL::INTEGER, v_session.user_id, v_session.tenant_id;
        RETURN;
    END IF;

    -- Check idle timeout
    IF CURRENT_TIMESTAMP >= v_idle_expires_at THEN
        -- Mark session as expired
        UPDATE sessions
        SET is_active = false,
            revoked_at = CURRENT_TIMESTAMP,
            ended_at = CURRENT_TIMESTAMP,
            revoke_reason = 'idle_timeout'
        WHERE session_token_hash = p_token_hash;

        RETURN QUERY SELECT false::BOOLEAN, 'idle'::VARCHAR(50), NULL::INTEGER, NULL::INTEGER, v_session.user_id, v_session.tenant_id;
        RETURN;
    END IF;

    -- Session is valid - calculate remaining times
    v_seconds_until_idle := EXTRACT(EPOCH FROM (v_idle_expires_at - CURRENT_TIMESTAMP))::INTEGER;
    v_seconds_until_absolute := EXTRACT(EPOCH FROM (v_session.absolute_expires_at - CURRENT_TIMESTAMP))::INTEGER;

    RETURN QUERY SELECT true::BOOLEAN, NULL::VARCHAR(50), v_seconds_until_idle, v_seconds_until_absolute, v_session.user_id, v_session.tenant_id;
END;
$$ LANGUAGE plpgsql;

ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_idle_timeout_seconds_check;
ALTER TABLE sessions DROP COLUMN IF EXISTS idle_timeout_seconds;

DELETE FROM sessionguard_schema_migrations WHERE version = 23;
