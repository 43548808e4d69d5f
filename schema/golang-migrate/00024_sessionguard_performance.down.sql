-- sessionguard's 024_sessionguard_performance.sql as golang-migrate version 24.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 024_sessionguard_performance.down.sql
-- Description: undoes 024_sessionguard_performance.sql. The change
-- notifications stop (an in-process pgstore.Cache then learns of no
-- revocation: stop using it first), sessionguard_check is 023's again,
-- idx_sessions_last_activity comes back and the table's fillfactor returns to
-- the default. Rebuilding the index reads the whole table.

DROP TRIGGER IF EXISTS sessionguard_ended_truncate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_ended_delete ON sessions;
DROP TRIGGER IF EXISTS sessionguard_ended_update ON sessions;
DROP FUNCTION IF EXISTS sessionguard_notify_ended();

-- 023's text, byte for byte.
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

CREATE INDEX IF NOT EXISTS idx_sessions_last_activity ON sessions(last_activity_at);

ALTER TABLE sessions RESET (fillfactor);

DELETE FROM sessionguard_schema_migrations WHERE version = 24;
