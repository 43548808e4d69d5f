-- sessionguard's 031_sessionguard_retired_tokens.sql as tern version 10.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/tern) or by schema.Tern (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 031_sessionguard_retired_tokens.sql
-- Description: a token that a re-authentication rotated out never opens a
-- session again.
--
-- Why: a re-authentication (pgstore.Store.Reauthenticate, 027) changes
-- session_token_hash on the same row, so the old hash was in no table any
-- more. An application that records its identity provider's tokens
-- (middleware's Guard.Record behind a "POST /session") then let a stolen
-- pre-rotation token, still verifying and unexpired, open a NEW session with
-- a fresh authentication time: the very token the rotation was meant to end.
--
--  1. sessionguard_retired_tokens keeps each hash a session was rotated away
--     from, with the session's id. A retired hash lives exactly as long as
--     its session's row, which the Cleaner deletes (CleanerConfig.Retention,
--     default 90 days) after the session ended, as it does the ended
--     session's own hash: a trigger deletes a session's retired hashes with
--     its row (the Cleaner's purge, a user deleted with their sessions), and
--     all of them when sessions is truncated. A trigger, as 026 does for scs
--     data, rather than a foreign key: a key referencing sessions would stop
--     a TRUNCATE of sessions and the dropping of its primary key. The index
--     on session_id serves those deletes.
--  2. A trigger on sessions writes the old hash there whenever a row's
--     session_token_hash changes (in the rotating statement, so in its
--     transaction), and refuses a row, inserted or updated, whose hash is
--     retired, with unique_violation on sessionguard_retired_tokens_pkey:
--     to its writer, the hash is taken, as when a session holds it.
--  3. A token may have a second string, which verifies as well: an ECDSA
--     JWT re-signed with its signature's other s (middleware's resigned.go).
--     The rotating transaction names that string's hash in the
--     transaction-local setting sessionguard.retired_twin (as 030 counts in
--     one), and the trigger retires it with the old hash.
--
-- No race: the check runs AFTER the row is in the table, so after the
-- insert has passed the UNIQUE index of session_token_hash. While a
-- rotation of hash H is not committed, the old row version still holds H in
-- that index, and an insert of H waits there for the rotation's transaction
-- (or fails at once, if the rotation has not run yet). Once it passes, the
-- rotation has committed, retired row included, and the check, a query of a
-- VOLATILE function, reads with a snapshot taken after that, so it sees
-- the retired row (READ COMMITTED; a check before the insert, or in the
-- insert's own WHERE, reads with the snapshot taken before the wait and
-- let the token through). pgstore's TestCreateRacingTheRotation races the two.
--
-- SECURITY DEFINER, with their search_path pinned to this schema (026's
-- reason): the functions run with the rights of the role that ran this
-- migration, so the application's roles need no privilege on the table
-- (a role that inserts or deletes sessions, as the application's own code
-- may, keeps working) and cannot delete a retired hash to bring a token
-- back.
--
-- What it costs: one index lookup per session inserted or deleted; one row
-- and two index entries per re-authentication.
--
-- Idempotent: running this file twice is harmless.

CREATE TABLE IF NOT EXISTS sessionguard_retired_tokens (
    token_hash VARCHAR(64) PRIMARY KEY, -- hex SHA-256 of the rotated-out token, as sessions.session_token_hash
    session_id UUID NOT NULL,           -- sessions.id of the session that held it
    retired_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS idx_sessionguard_retired_tokens_session_id ON sessionguard_retired_tokens(session_id);

CREATE OR REPLACE FUNCTION sessionguard_retire_token()
RETURNS TRIGGER AS $$
DECLARE
    v_twin TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO sessionguard_retired_tokens (token_hash, session_id)
        VALUES (OLD.session_token_hash, NEW.id);
        v_twin := pg_catalog.current_setting('sessionguard.retired_twin', true);
        IF v_twin <> '' THEN
            -- Retired already when the transaction rotates again.
            INSERT INTO sessionguard_retired_tokens (token_hash, session_id)
            VALUES (v_twin, NEW.id)
            ON CONFLICT (token_hash) DO NOTHING;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM sessionguard_retired_tokens WHERE token_hash = NEW.session_token_hash) THEN
        -- No hash in the message: it is a credential's.
        RAISE EXCEPTION 'session token was retired by a re-authentication'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'sessionguard_retired_tokens_pkey',
                  TABLE = 'sessionguard_retired_tokens';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

CREATE OR REPLACE FUNCTION sessionguard_forget_retired_tokens()
RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM sessionguard_retired_tokens;
    ELSE
        DELETE FROM sessionguard_retired_tokens WHERE session_id = OLD.id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_retire_token() SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION sessionguard_forget_retired_tokens() SET search_path = %I, pg_temp',
                   current_schema());
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_token_insert') THEN
        CREATE TRIGGER sessionguard_retired_token_insert
            AFTER INSERT ON sessions
            FOR EACH ROW
            EXECUTE FUNCTION sessionguard_retire_token();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_token_rotate') THEN
        CREATE TRIGGER sessionguard_retired_token_rotate
            AFTER UPDATE OF session_token_hash ON sessions
            FOR EACH ROW
            WHEN (OLD.session_token_hash IS DISTINCT FROM NEW.session_token_hash)
            EXECUTE FUNCTION sessionguard_retire_token();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_tokens_on_session_delete') THEN
        CREATE TRIGGER sessionguard_retired_tokens_on_session_delete
            AFTER DELETE ON sessions
            FOR EACH ROW
            EXECUTE FUNCTION sessionguard_forget_retired_tokens();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_tokens_on_session_truncate') THEN
        CREATE TRIGGER sessionguard_retired_tokens_on_session_truncate
            AFTER TRUNCATE ON sessions
            FOR EACH STATEMENT
            EXECUTE FUNCTION sessionguard_forget_retired_tokens();
    END IF;
END $$;

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (31, '031_sessionguard_retired_tokens.sql', 'caa6ff7d0cc86c22a8fc1bd5e938dbf24a96ff06c21019241f940f0ff2961fd1')
ON CONFLICT (version) DO NOTHING;

---- create above / drop below ----

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 031_sessionguard_retired_tokens.down.sql
-- Description: undoes 031_sessionguard_retired_tokens.sql. The hashes that
-- re-authentications rotated out are deleted with their table, and a token
-- rotated out (before or after) can open a new session again through an
-- application that records tokens issued elsewhere (Guard.Record).

DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_session_truncate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_session_delete ON sessions;
DROP TRIGGER IF EXISTS sessionguard_retired_token_rotate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_retired_token_insert ON sessions;
DROP FUNCTION IF EXISTS sessionguard_forget_retired_tokens();
DROP FUNCTION IF EXISTS sessionguard_retire_token();
DROP TABLE IF EXISTS sessionguard_retired_tokens;

DELETE FROM sessionguard_schema_migrations WHERE version = 31;
