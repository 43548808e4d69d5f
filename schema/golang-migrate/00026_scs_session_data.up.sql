-- sessionguard's 026_scs_session_data.sql as golang-migrate version 26.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 026_scs_session_data.sql
-- Description: storage for the session data of applications that use
-- github.com/alexedwards/scs/v2 (pgstore.SCSStore), kept next to the sessions
-- table so that the data of a session ends with the session.
--
--  1. sessionguard_scs_data holds scs's encoded data blob and its expiry, keyed
--     by the same lowercase hex SHA-256 of the token as
--     sessions.session_token_hash. A row without a matching sessions row is an
--     anonymous (pre-sign-in) scs session and lives until its own expiry.
--  2. A trigger on sessions deletes a session's data when the session ends
--     (is_active goes from true to false, whoever does it: pgstore, the seed's
--     functions called directly, a hand-written UPDATE) or when the sessions
--     row is deleted (including by the users ON DELETE CASCADE). The trigger
--     does not fire for the touches of last_activity_at.
--
-- Every statement is idempotent, so running this file twice is harmless.

CREATE TABLE IF NOT EXISTS sessionguard_scs_data (
    token_hash VARCHAR(64) PRIMARY KEY, -- hex SHA-256 of the scs token, as sessions.session_token_hash
    data BYTEA NOT NULL,                -- scs's encoded session data (its Codec's output)
    expiry TIMESTAMP WITH TIME ZONE NOT NULL
);

-- For the cleanup of expired rows.
CREATE INDEX IF NOT EXISTS idx_sessionguard_scs_data_expiry ON sessionguard_scs_data(expiry);

CREATE OR REPLACE FUNCTION sessionguard_scs_data_end_with_session()
RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM sessionguard_scs_data WHERE token_hash = OLD.session_token_hash;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- The trigger runs for whoever changes sessions, with their search_path: an
-- operator's schema-qualified UPDATE of the table from another search_path
-- failed on this DELETE ("relation does not exist") and the session stayed
-- active. It now always finds the table in the schema this file made it in
-- (where CREATE put the table and the function), never a temporary table.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_scs_data_end_with_session() SET search_path = %I, pg_temp',
                   current_schema());
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_scs_data_on_session_end') THEN
        CREATE TRIGGER sessionguard_scs_data_on_session_end
            AFTER UPDATE OF is_active, session_token_hash ON sessions
            FOR EACH ROW
            WHEN ((OLD.is_active AND NOT NEW.is_active)
                  OR OLD.session_token_hash IS DISTINCT FROM NEW.session_token_hash)
            EXECUTE FUNCTION sessionguard_scs_data_end_with_session();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_scs_data_on_session_delete') THEN
        CREATE TRIGGER sessionguard_scs_data_on_session_delete
            AFTER DELETE ON sessions
            FOR EACH ROW
            EXECUTE FUNCTION sessionguard_scs_data_end_with_session();
    END IF;
END $$;

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (26, '026_scs_session_data.sql', 'b438692139512af78b0fefc7c3ba48e42467a312a6dc82290bdeaf20813b9959')
ON CONFLICT (version) DO NOTHING;
