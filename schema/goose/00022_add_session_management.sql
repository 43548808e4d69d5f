-- sessionguard's 022_add_session_management.sql as goose version 22.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/goose) or by schema.Goose (any numbering): do not edit.

-- +goose Up
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- This form of 022_add_session_management.sql adopts what the database already
-- has. When it has the sessions table of that file (it ran the file by hand or
-- with another tool), the table stays as it is, rows and all, and is recorded
-- as adopted; the file runs when the table or one of its five functions is
-- missing. A table
-- named sessions that is not that one stops the migration.
DO $sessionguard_base$
DECLARE
    v_missing TEXT;
    v_adopted BOOLEAN;
BEGIN
    IF to_regclass('users') IS NULL OR to_regclass('tenants') IS NULL THEN
        RAISE EXCEPTION 'sessionguard: 022_add_session_management.sql references users(id) and tenants(id): create both tables first';
    END IF;
    IF to_regclass('sessions') IS NOT NULL THEN
        SELECT string_agg(c.name, ', ' ORDER BY c.n) INTO v_missing
        FROM unnest(ARRAY['id', 'user_id', 'session_token_hash', 'created_at', 'last_activity_at', 'absolute_expires_at', 'ip_address', 'user_agent', 'tenant_id', 'is_active', 'revoked_at', 'revoke_reason', 'ended_at', 'app_type']) WITH ORDINALITY AS c(name, n)
        WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = to_regclass('sessions') AND a.attname = c.name
                            AND a.attnum > 0 AND NOT a.attisdropped);
        IF v_missing IS NOT NULL THEN
            RAISE EXCEPTION 'sessionguard: a table named sessions exists but is not the one of migration 022_add_session_management.sql: it lacks column(s) %; rename the other table or point search_path elsewhere', v_missing;
        END IF;
    END IF;
    -- Adopted: the table was there, and stays when this is undone. The file
    -- runs when the table or one of its functions is missing.
    v_adopted := to_regclass('sessions') IS NOT NULL;
    IF NOT (v_adopted
        AND to_regprocedure('cleanup_expired_sessions()') IS NOT NULL
        AND to_regprocedure('get_session_status(character varying)') IS NOT NULL
        AND to_regprocedure('update_session_activity(character varying)') IS NOT NULL
        AND to_regprocedure('revoke_session(character varying, character varying)') IS NOT NULL
        AND to_regprocedure('revoke_all_user_sessions(integer, character varying)') IS NOT NULL) THEN
        EXECUTE $sessionguard_base_sql$
-- Migration: 022_add_session_management.sql
-- Description: Server-side session tracking for OWASP/NIST compliance
-- Date: 2025-12-08
-- Issue: #264 - Session timeout warning not appearing
--
-- Timeout Configuration:
--   Idle Timeout: 4 hours (240 minutes) - covers meetings, lunch, context-switching
--   Absolute Timeout: 8 hours (maximum session lifetime) - full work day
--   Warning Threshold: 5 minutes before idle expiry

-- Active sessions table for server-side session tracking
-- This is the authoritative source of truth for session validity,
-- not the JWT expiration time alone.
CREATE TABLE IF NOT EXISTS sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_token_hash VARCHAR(64) NOT NULL UNIQUE, -- SHA-256 of session token (never store plaintext)

    -- Session timing (NIST SP 800-63B compliant)
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_activity_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    absolute_expires_at TIMESTAMP WITH TIME ZONE NOT NULL, -- 8 hours from creation

    -- Session metadata for security auditing
    ip_address VARCHAR(45), -- IPv6 compatible (max 45 chars)
    user_agent TEXT,
    tenant_id INTEGER REFERENCES tenants(id),

    -- Session state
    is_active BOOLEAN NOT NULL DEFAULT true,
    revoked_at TIMESTAMP WITH TIME ZONE,
    revoke_reason VARCHAR(50), -- 'logout', 'idle_timeout', 'absolute_timeout', 'admin_revoke', 'password_change', 'cleanup_stale'
    ended_at TIMESTAMP WITH TIME ZONE, -- When session ended (any reason: logout, timeout, etc.)
    app_type VARCHAR(20) NOT NULL DEFAULT 'control_panel' -- 'control_panel' or 'tenant_app'
);

-- Indexes for session lookup and cleanup
CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions(user_id);
CREATE INDEX IF NOT EXISTS idx_sessions_token_hash ON sessions(session_token_hash);
CREATE INDEX IF NOT EXISTS idx_sessions_last_activity ON sessions(last_activity_at);
CREATE INDEX IF NOT EXISTS idx_sessions_absolute_expires ON sessions(absolute_expires_at);
CREATE INDEX IF NOT EXISTS idx_sessions_active ON sessions(is_active) WHERE is_active = true;
CREATE INDEX IF NOT EXISTS idx_sessions_tenant_id ON sessions(tenant_id);
CREATE INDEX IF NOT EXISTS idx_sessions_ended_at ON sessions(ended_at);
CREATE INDEX IF NOT EXISTS idx_sessions_app_type ON sessions(app_type);

-- Function to clean up expired sessions (run periodically via cron or scheduled task)
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

-- Function to get session status (for internal API validation)
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

-- Function to update session activity (called on each authenticated request)
CREATE OR REPLACE FUNCTION update_session_activity(p_token_hash VARCHAR(64))
RETURNS BOOLEAN AS $$
DECLARE
    v_updated INTEGER;
BEGIN
    UPDATE sessions
    SET last_activity_at = CURRENT_TIMESTAMP
    WHERE session_token_hash = p_token_hash
      AND is_active = true;
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    RETURN v_updated > 0;
END;
$$ LANGUAGE plpgsql;

-- Function to revoke a session
CREATE OR REPLACE FUNCTION revoke_session(p_token_hash VARCHAR(64), p_reason VARCHAR(50) DEFAULT 'logout')
RETURNS BOOLEAN AS $$
DECLARE
    v_updated INTEGER;
BEGIN
    UPDATE sessions
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = p_reason
    WHERE session_token_hash = p_token_hash
      AND is_active = true;
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    RETURN v_updated > 0;
END;
$$ LANGUAGE plpgsql;

-- Function to revoke all sessions for a user (e.g., on password change)
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

-- Log migration completion
DO $$
BEGIN
    RAISE NOTICE 'Migration 022: Created sessions table and session management functions for OWASP/NIST compliance';
END $$;
$sessionguard_base_sql$;
    END IF;
    CREATE TABLE IF NOT EXISTS sessionguard_schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		checksum   TEXT NOT NULL,
		adopted    BOOLEAN NOT NULL DEFAULT false,
		applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
	);
    INSERT INTO sessionguard_schema_migrations (version, name, checksum, adopted)
    VALUES (22, '022_add_session_management.sql', 'bec78e9fabf1639b7fc64e8e43cbeefb73d7f8d3ed4a87e2fc56e30126e825a2', v_adopted)
    ON CONFLICT (version) DO NOTHING;
END
$sessionguard_base$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Undoing 022_add_session_management.sql drops its objects only when its up
-- created them: a sessions table it adopted was the application's before
-- sessionguard, and stays, rows and all.
DO $sessionguard_base$
BEGIN
    IF to_regclass('sessionguard_schema_migrations') IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM sessionguard_schema_migrations WHERE version = 22 AND NOT adopted) THEN
        EXECUTE $sessionguard_base_sql$
-- Migration: 022_add_session_management.down.sql
-- Description: undoes 022_add_session_management.sql: the sessions table,
-- with every session in it, and its five functions.
--
-- The per-tool forms (schema.Goose, schema.GolangMigrate, schema.Tern) run
-- this only when their migration 022 created these objects. When it adopted a
-- sessions table that was there before (the application ran 022 itself), going
-- down keeps the table and its rows: they were the application's before
-- sessionguard came, and undoing sessionguard must not sign everyone out or
-- lose the audit trail.

DROP FUNCTION IF EXISTS revoke_all_user_sessions(INTEGER, VARCHAR);
DROP FUNCTION IF EXISTS revoke_session(VARCHAR, VARCHAR);
DROP FUNCTION IF EXISTS update_session_activity(VARCHAR);
DROP FUNCTION IF EXISTS get_session_status(VARCHAR);
DROP FUNCTION IF EXISTS cleanup_expired_sessions();
DROP TABLE IF EXISTS sessions;
$sessionguard_base_sql$;
    END IF;
    DELETE FROM sessionguard_schema_migrations WHERE version = 22;
    IF NOT EXISTS (SELECT 1 FROM sessionguard_schema_migrations) THEN
        DROP TABLE sessionguard_schema_migrations;
    END IF;
END
$sessionguard_base$;
-- +goose StatementEnd
