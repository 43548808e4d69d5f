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
-- as adopted; of the file, only a function it lacks is created again. A table
-- named sessions that is not that one, or whose columns sessionguard cannot
-- work with, stops the migration. Without a sessions table the file runs.
DO $sessionguard_base$
DECLARE
    v_missing TEXT;
    v_wrong TEXT;
    v_adopted BOOLEAN;
    v_references TEXT;
    v_found TEXT;
BEGIN
    -- Adopted: the table was there, and stays when this is undone.
    v_adopted := to_regclass('sessions') IS NOT NULL;
    IF v_adopted THEN
        SELECT t.missing, t.wrong INTO v_missing, v_wrong FROM (
SELECT cols.missing, concat_ws('; ', nullif(cols.wrong, ''),
    -- Each token hash names one session (without the constraint a second
    -- session of the hash, in another app, answered for the first), and
    -- pgstore tells a taken one (ErrDuplicateToken) by the constraint's name.
    (SELECT 'session_token_hash has no UNIQUE constraint sessions_session_token_hash_key, want UNIQUE (session_token_hash) by that name (a token hash names one session, and pgstore reports a taken one by it)'
     WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute h ON h.attrelid = k.conrelid AND h.attnum = ALL (k.conkey)
        WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'u' AND cardinality(k.conkey) = 1
          AND k.conname = 'sessions_session_token_hash_key' AND h.attname = 'session_token_hash')),
    -- Likewise each id: a session-id claim recorded twice would otherwise
    -- make two sessions of one id, or, by another name, a 503.
    (SELECT 'id has no PRIMARY KEY sessions_pkey, want PRIMARY KEY (id) by that name (a session id names one session, and pgstore reports a taken one by it)'
     WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute h ON h.attrelid = k.conrelid AND h.attnum = ALL (k.conkey)
        WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'p' AND cardinality(k.conkey) = 1
          AND k.conname = 'sessions_pkey' AND h.attname = 'id')),
    -- pgstore's insert sets 022's columns and those of its own migrations
    -- (which have defaults or allow NULL), nothing else.
    (SELECT string_agg(format('%s is NOT NULL without a DEFAULT (pgstore''s insert does not set it)', x.attname), '; ' ORDER BY x.attnum)
     FROM pg_attribute x
     WHERE x.attrelid = to_regclass('sessions') AND x.attnum > 0 AND NOT x.attisdropped
       AND x.attnotnull AND NOT x.atthasdef AND x.attidentity = '' AND x.attgenerated = ''
       AND NOT x.attname = ANY (ARRAY['id', 'user_id', 'session_token_hash', 'created_at', 'last_activity_at', 'absolute_expires_at', 'ip_address', 'user_agent', 'tenant_id', 'is_active', 'revoked_at', 'revoke_reason', 'ended_at', 'app_type'])))
FROM (SELECT
    coalesce(string_agg(c.name, ', ' ORDER BY c.n) FILTER (WHERE a.attnum IS NULL), ''),
    coalesce(string_agg(CASE
        WHEN NOT format_type(a.atttypid, NULL) = ANY (c.types)
             OR (a.atttypid = 'character varying'::regtype AND a.atttypmod >= 0 AND a.atttypmod - 4 < c.min_chars)
        THEN format('%s is %s, want %s (%s)', c.name, format_type(a.atttypid, a.atttypmod), c.want, c.why)
        WHEN c.not_null AND NOT a.attnotnull
        THEN format('%s allows NULL, want NOT NULL (022 declares it so, and the library reads it as never NULL)', c.name)
        WHEN c.defaults IS NOT NULL AND d.adbin IS NULL
        THEN format('%s has no DEFAULT, want DEFAULT %s (pgstore''s insert leaves it to the default)', c.name, c.defaults[1])
        WHEN c.defaults IS NOT NULL AND NOT pg_get_expr(d.adbin, d.adrelid) = ANY (c.defaults)
        THEN format('%s has DEFAULT %s, want DEFAULT %s (pgstore''s insert leaves it to the default)',
                    c.name, pg_get_expr(d.adbin, d.adrelid), c.defaults[1])
    END, '; ' ORDER BY c.n), '')
FROM (VALUES
    (0, 'id', 'uuid', ARRAY['uuid'], 0, 'pgstore inserts and reads a UUID', true, NULL::text[]),
    (1, 'user_id', 'integer', ARRAY['integer'], 0, 'get_session_status and sessionguard_check return it as INTEGER', true, NULL::text[]),
    (2, 'session_token_hash', 'character varying(64)', ARRAY['character varying', 'text'], 64, 'it holds the 64 hex digits of a token''s SHA-256, compared as text', true, NULL::text[]),
    (3, 'created_at', 'timestamp with time zone', ARRAY['timestamp with time zone'], 0, 'without one it is read in each connection''s TimeZone, which moves expiry by the zone''s offset', true, ARRAY['CURRENT_TIMESTAMP', 'now()']),
    (4, 'last_activity_at', 'timestamp with time zone', ARRAY['timestamp with time zone'], 0, 'without one it is read in each connection''s TimeZone, which moves expiry by the zone''s offset', true, ARRAY['CURRENT_TIMESTAMP', 'now()']),
    (5, 'absolute_expires_at', 'timestamp with time zone', ARRAY['timestamp with time zone'], 0, 'without one it is read in each connection''s TimeZone, which moves expiry by the zone''s offset', true, NULL::text[]),
    (6, 'ip_address', 'character varying(45)', ARRAY['character varying', 'text'], 45, 'pgstore writes an address as text of up to 45 characters', false, NULL::text[]),
    (7, 'user_agent', 'text', ARRAY['text', 'character varying'], 512, 'pgstore keeps up to 512 bytes of it', false, NULL::text[]),
    (8, 'tenant_id', 'integer', ARRAY['integer'], 0, 'get_session_status and sessionguard_check return it as INTEGER', false, NULL::text[]),
    (9, 'is_active', 'boolean', ARRAY['boolean'], 0, 'it says whether the session is live', true, ARRAY['true']),
    (10, 'revoked_at', 'timestamp with time zone', ARRAY['timestamp with time zone'], 0, 'without one it is read in each connection''s TimeZone, which moves expiry by the zone''s offset', false, NULL::text[]),
    (11, 'revoke_reason', 'character varying(50)', ARRAY['character varying', 'text'], 50, 'a reason has up to 50 characters', false, NULL::text[]),
    (12, 'ended_at', 'timestamp with time zone', ARRAY['timestamp with time zone'], 0, 'without one it is read in each connection''s TimeZone, which moves expiry by the zone''s offset', false, NULL::text[]),
    (13, 'app_type', 'character varying(20)', ARRAY['character varying'], 20, 'sessionguard_check returns it as VARCHAR', true, NULL::text[])
) AS c(n, name, want, types, min_chars, why, not_null, defaults)
LEFT JOIN pg_attribute a ON a.attrelid = to_regclass('sessions') AND a.attname = c.name
    AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
) AS cols(missing, wrong)
        ) AS t(missing, wrong);
        IF v_missing <> '' THEN
            RAISE EXCEPTION 'sessionguard: a table named sessions exists but is not the one of migration 022_add_session_management.sql: it lacks column(s) %; rename the other table or point search_path elsewhere', v_missing;
        END IF;
        IF v_wrong <> '' THEN
            RAISE EXCEPTION 'sessionguard: the table named sessions is not the one of migration 022_add_session_management.sql: %; change the column(s) to what that file creates, then migrate again', v_wrong;
        END IF;
        SELECT t.refs, t.found INTO v_references, v_found FROM (
SELECT format('%I.%I', rn.nspname, r.relname), format('%I.%I', pn.nspname, p.relname)
FROM pg_constraint k
JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
JOIN pg_class p ON p.oid = to_regclass(r.relname::text) JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'f'
  AND r.relname IN ('users', 'tenants') AND p.oid <> r.oid
ORDER BY r.relname DESC LIMIT 1
        ) AS t(refs, found);
        IF v_references IS NOT NULL THEN
            RAISE EXCEPTION 'sessionguard: the sessions table the search path finds references %, but the search path finds %: it is another application''s; migrate with search_path set to the schema of % alone, which makes that schema''s own sessions table', v_references, v_found, v_found;
        END IF;
        -- A CHECK on revoke_reason must allow the library's reasons.
DECLARE
    v_check RECORD;
    v_reason TEXT;
    v_ok BOOLEAN;
BEGIN
    FOR v_check IN
        SELECT k.conname::text AS name, pg_get_expr(k.conbin, k.conrelid) AS expr, format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.conrelid = to_regclass('sessions') AND k.contype = 'c' AND cardinality(k.conkey) = 1
          AND a.attname = 'revoke_reason'
    LOOP
        FOREACH v_reason IN ARRAY ARRAY['logout', 'idle_timeout', 'absolute_timeout', 'admin_revoke', 'password_change', 'cleanup_stale', 'session_limit'] LOOP
            EXECUTE format('SELECT (%s) IS NOT FALSE FROM (SELECT %L::%s AS revoke_reason) AS sessions',
                           v_check.expr, v_reason, v_check.type) INTO v_ok;
            IF NOT v_ok THEN
                RAISE EXCEPTION USING ERRCODE = 'SG022', MESSAGE = format(
                    'revoke_reason has CHECK constraint %s, which refuses %L, a reason sessionguard records; allow it (and %s) or drop the constraint',
                    v_check.name, v_reason, array_to_string(ARRAY['logout', 'idle_timeout', 'absolute_timeout', 'admin_revoke', 'password_change', 'cleanup_stale', 'session_limit'], ', '));
            END IF;
        END LOOP;
    END LOOP;
END;
    ELSE
        IF to_regclass('users') IS NULL OR to_regclass('tenants') IS NULL THEN
            RAISE EXCEPTION 'sessionguard: 022_add_session_management.sql references users(id) and tenants(id): create both tables first';
        END IF;
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

-- Log migration completion
DO $$
BEGIN
    RAISE NOTICE 'Migration 022: Created sessions table and session management functions for OWASP/NIST compliance';
END $$;
$sessionguard_base_sql$;
    END IF;
    IF to_regprocedure('cleanup_expired_sessions()') IS NULL THEN
        EXECUTE $sessionguard_base_sql$
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
$sessionguard_base_sql$;
    END IF;
    IF to_regprocedure('get_session_status(character varying)') IS NULL THEN
        EXECUTE $sessionguard_base_sql$
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
$sessionguard_base_sql$;
    END IF;
    IF to_regprocedure('update_session_activity(character varying)') IS NULL THEN
        EXECUTE $sessionguard_base_sql$
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
$sessionguard_base_sql$;
    END IF;
    IF to_regprocedure('revoke_session(character varying, character varying)') IS NULL THEN
        EXECUTE $sessionguard_base_sql$
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
$sessionguard_base_sql$;
    END IF;
    IF to_regprocedure('revoke_all_user_sessions(integer, character varying)') IS NULL THEN
        EXECUTE $sessionguard_base_sql$
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
