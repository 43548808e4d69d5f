-- Migration: 023_sessionguard_core.sql
-- Description: what sessionguard needs on top of migration 022, without changing
-- what 022's functions return to callers that use them directly.
--
--  1. One source of truth for the idle timeout: each session row carries its own
--     idle_timeout_seconds (default 14400 = the seed's 240 minutes), set by the
--     application when it creates the session. get_session_status and
--     cleanup_expired_sessions read it instead of a hard-coded 240.
--  2. sessionguard_check: one round trip that reports why a session is not
--     valid (unknown, idle, absolute, revoked with its reason, wrong app type,
--     wrong tenant), records an expiry it discovers, and touches
--     last_activity_at at most once per touch interval. With p_touch = false it
--     writes nothing (a "peek": asking how long is left never extends a session).
--
-- Every statement is idempotent, so running this file twice is harmless.

ALTER TABLE sessions
    ADD COLUMN IF NOT EXISTS idle_timeout_seconds INTEGER NOT NULL DEFAULT 14400;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'sessions'::regclass AND conname = 'sessions_idle_timeout_seconds_check') THEN
        ALTER TABLE sessions ADD CONSTRAINT sessions_idle_timeout_seconds_check
            CHECK (idle_timeout_seconds > 0);
    END IF;
END $$;

-- Same signature and results as 022; the idle timeout now comes from the row.
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
    v_idle_expires_at TIMESTAMP WITH TIME ZONE;
BEGIN
    SELECT s.* INTO v_session
    FROM sessions s
    WHERE s.session_token_hash = p_token_hash
      AND s.is_active = true;

    IF NOT FOUND THEN
        RETURN QUERY SELECT false::BOOLEAN, NULL::VARCHAR(50), NULL::INTEGER, NULL::INTEGER, NULL::INTEGER, NULL::INTEGER;
        RETURN;
    END IF;

    v_idle_expires_at := v_session.last_activity_at + make_interval(secs => v_session.idle_timeout_seconds);

    IF CURRENT_TIMESTAMP >= v_session.absolute_expires_at THEN
        UPDATE sessions
        SET is_active = false,
            revoked_at = CURRENT_TIMESTAMP,
            ended_at = CURRENT_TIMESTAMP,
            revoke_reason = 'absolute_timeout'
        WHERE session_token_hash = p_token_hash
          -- Re-checked on the newest row (READ COMMITTED re-evaluates an
          -- UPDATE's WHERE after waiting for a row lock): a session ended
          -- meanwhile keeps its own reason.
          AND is_active = true
          AND CURRENT_TIMESTAMP >= absolute_expires_at;

        RETURN QUERY SELECT false::BOOLEAN, 'absolute'::VARCHAR(50), NULL::INTEGER, NULL::INTEGER, v_session.user_id, v_session.tenant_id;
        RETURN;
    END IF;

    IF CURRENT_TIMESTAMP >= v_idle_expires_at THEN
        UPDATE sessions
        SET is_active = false,
            revoked_at = CURRENT_TIMESTAMP,
            ended_at = CURRENT_TIMESTAMP,
            revoke_reason = 'idle_timeout'
        WHERE session_token_hash = p_token_hash
          -- Re-checked on the newest row, as above: a session touched
          -- meanwhile (update_session_activity of another request) is not
          -- idle, and one ended meanwhile keeps its own reason.
          AND is_active = true
          AND CURRENT_TIMESTAMP >= last_activity_at + make_interval(secs => idle_timeout_seconds);

        RETURN QUERY SELECT false::BOOLEAN, 'idle'::VARCHAR(50), NULL::INTEGER, NULL::INTEGER, v_session.user_id, v_session.tenant_id;
        RETURN;
    END IF;

    RETURN QUERY SELECT true::BOOLEAN, NULL::VARCHAR(50),
        EXTRACT(EPOCH FROM (v_idle_expires_at - CURRENT_TIMESTAMP))::INTEGER,
        EXTRACT(EPOCH FROM (v_session.absolute_expires_at - CURRENT_TIMESTAMP))::INTEGER,
        v_session.user_id, v_session.tenant_id;
END;
$$ LANGUAGE plpgsql;

-- Same signature and result as 022; the idle timeout now comes from the row.
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

-- sessionguard_check answers "is this session alive for this scope?" in one
-- round trip. States: valid, unknown, idle_timeout, absolute_timeout, revoked,
-- wrong_app, wrong_tenant. Absolute expiry is checked before idle expiry, as in
-- get_session_status. With p_touch:
--   - an expiry it discovers is recorded (is_active, revoked_at, ended_at,
--     revoke_reason), as get_session_status does;
--   - a valid session's last_activity_at moves to now only when it is at least
--     p_touch_interval_seconds old, so busy sessions cost no write per request
--     (the idle clock may start up to that interval early, never late);
--   - the touch updates only a row that is still active: a concurrent revoke
--     wins and is reported, and nothing brings an ended session back.
-- A session outside the scope (p_app_type / p_tenant_id, NULL = any) is
-- neither touched nor reported as valid.
CREATE OR REPLACE FUNCTION sessionguard_check(
    p_token_hash VARCHAR(64),
    p_touch BOOLEAN DEFAULT true,
    p_touch_interval_seconds INTEGER DEFAULT 0,
    p_app_type VARCHAR(20) DEFAULT NULL,
    p_tenant_id INTEGER DEFAULT NULL
)
RETURNS TABLE (
    state VARCHAR(20),
    end_reason VARCHAR(50),
    session_id UUID,
    user_id INTEGER,
    tenant_id INTEGER,
    app_type VARCHAR(20),
    created_at TIMESTAMP WITH TIME ZONE,
    last_activity_at TIMESTAMP WITH TIME ZONE,
    idle_timeout_seconds INTEGER,
    absolute_expires_at TIMESTAMP WITH TIME ZONE,
    checked_at TIMESTAMP WITH TIME ZONE
) AS $$
DECLARE
    s sessions%ROWTYPE;
    v_now TIMESTAMP WITH TIME ZONE := CURRENT_TIMESTAMP;
    v_state VARCHAR(20);
    v_reason VARCHAR(50);
BEGIN
    SELECT * INTO s FROM sessions WHERE sessions.session_token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::VARCHAR(20), NULL::VARCHAR(50), NULL::UUID, NULL::INTEGER,
            NULL::INTEGER, NULL::VARCHAR(20), NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::INTEGER,
            NULL::TIMESTAMPTZ, v_now;
        RETURN;
    END IF;

    IF NOT s.is_active THEN
        v_reason := s.revoke_reason;
    ELSIF v_now >= s.absolute_expires_at THEN
        v_reason := 'absolute_timeout';
    ELSIF v_now >= s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) THEN
        v_reason := 'idle_timeout';
    END IF;

    IF v_reason IS NOT NULL OR NOT s.is_active THEN
        IF p_touch AND s.is_active THEN
            UPDATE sessions
            SET is_active = false, revoked_at = v_now, ended_at = v_now, revoke_reason = v_reason
            WHERE id = s.id AND is_active = true;
            IF NOT FOUND THEN
                -- Someone else ended it first: report their reason.
                SELECT sessions.revoke_reason INTO v_reason FROM sessions WHERE id = s.id;
            END IF;
        END IF;
        v_state := CASE v_reason
            WHEN 'idle_timeout' THEN 'idle_timeout'
            WHEN 'absolute_timeout' THEN 'absolute_timeout'
            ELSE 'revoked' END;
    ELSIF p_app_type IS NOT NULL AND s.app_type IS DISTINCT FROM p_app_type THEN
        v_state := 'wrong_app';
    ELSIF p_tenant_id IS NOT NULL AND s.tenant_id IS DISTINCT FROM p_tenant_id THEN
        v_state := 'wrong_tenant';
    ELSE
        v_state := 'valid';
        IF p_touch AND v_now - s.last_activity_at >= make_interval(secs => GREATEST(p_touch_interval_seconds, 0)) THEN
            UPDATE sessions SET last_activity_at = v_now
            WHERE id = s.id AND is_active = true;
            IF FOUND THEN
                s.last_activity_at := v_now;
            ELSE
                -- Revoked between our read and our touch: the revoke wins.
                SELECT sessions.revoke_reason INTO v_reason FROM sessions WHERE id = s.id;
                v_state := CASE v_reason
                    WHEN 'idle_timeout' THEN 'idle_timeout'
                    WHEN 'absolute_timeout' THEN 'absolute_timeout'
                    ELSE 'revoked' END;
            END IF;
        END IF;
    END IF;

    RETURN QUERY SELECT v_state, v_reason, s.id, s.user_id, s.tenant_id, s.app_type, s.created_at,
        s.last_activity_at, s.idle_timeout_seconds, s.absolute_expires_at, v_now;
END;
$$ LANGUAGE plpgsql;
