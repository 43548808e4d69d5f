-- sessionguard's 034_sessionguard_scs_data_follows_the_token.sql as goose version 34.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/goose) or by schema.Goose (any numbering): do not edit.

-- +goose Up
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 034_sessionguard_scs_data_follows_the_token.sql
-- Description: scs data is never stored again under a token that a
-- re-authentication rotated out, and TRUNCATE sessions takes the data of
-- the sessions it empties.
--
-- Why: pgstore.SCSStore (026) tells a signed-in scs session's data from an
-- anonymous (pre-sign-in) one's by the sessions row of its hash, and keeps
-- the data of a hash that no row holds as an anonymous session's. Two ways
-- left a signed-in session's data readable under its token after the
-- session had let go of the token:
--  1. A re-authentication (027) moves the session to a new hash, and 026's
--     trigger deletes the old hash's data. A request that had loaded the
--     data before (or whose Commit waited meanwhile on the row's lock)
--     then committed it again under the old token, a hash no row holds any
--     more, and scs's Find handed it to whoever held the rotated-out token:
--     the very token the rotation was meant to end.
--  2. TRUNCATE sessions fires no DELETE trigger: every signed-in session's
--     data stayed, readable under its token.
-- (A session deleted with its user leaves no trace of its hash: a late
-- Commit under its token still stores the data as an anonymous session's.
-- The token never signs in.)
--
-- What changes:
--  1. A BEFORE INSERT trigger on sessionguard_scs_data stores nothing (no
--     error: as a Commit for an ended session does) for a hash in
--     sessionguard_retired_tokens (031), so for as long as the session's
--     row exists. SECURITY DEFINER with its search_path pinned, as 031's
--     functions: the application's roles need no privilege on the retired
--     hashes. No race: a Commit that meets the rotation waits on the
--     session row's lock (its FOR SHARE) until the rotation commits, and
--     under READ COMMITTED the trigger's query, in a VOLATILE function,
--     then reads with a snapshot taken after the wait, retired hash
--     included; under REPEATABLE READ or SERIALIZABLE the Commit fails
--     instead ("could not serialize access", an error to scs) and stores
--     nothing (pgstore's TestSCSCommitWaitingOnTheRotation, each level).
--     The other order, a Commit holding the row when the rotation starts:
--     the rotation waits, and moves the data to the new token at READ
--     COMMITTED, which pgstore's Reauthenticate always runs at
--     (TestSCSRotationWaitingOnTheCommit).
--  2. A BEFORE TRUNCATE trigger on sessions deletes the scs data of every
--     session in it before it is emptied (also for TRUNCATE users CASCADE).
--     Anonymous sessions' data stays. SECURITY DEFINER as well, so that a
--     role allowed to truncate sessions needs no privilege on
--     sessionguard_scs_data for it (TestSCSDataTriggersNeedNoGrant).
--  3. Data a late Commit stored under a retired hash before this file ran
--     is deleted: the trigger of 1. skips the whole INSERT ... ON CONFLICT
--     DO UPDATE, so it would never replace it, and Find hands it to whoever
--     holds the rotated-out token (TestSCSMigrationForgetsDataUnderRetiredTokens).
--
-- Only their owner may execute the two functions: PostgreSQL lets everyone
-- execute a new function, and a trigger function runs on whatever table a
-- trigger puts it; a role with no right at all could attach the second to
-- a temporary table of its own and, truncating it, delete every signed-in
-- session's data with the owner's rights. A trigger runs its function
-- without checking EXECUTE, so the triggers here fire for every role
-- (TestSCSDataTriggerFunctionsAreNotPublic).
--
-- What it costs: one primary-key lookup of the retired hashes per scs
-- Commit that inserts; a TRUNCATE of sessions reads the table once; this
-- file reads the retired hashes once.
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION sessionguard_scs_data_refuse_retired()
RETURNS TRIGGER AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM sessionguard_retired_tokens WHERE token_hash = NEW.token_hash) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sessionguard_scs_data_end_with_truncated_sessions()
RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM sessionguard_scs_data d
    USING sessions s
    WHERE d.token_hash = s.session_token_hash;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
-- +goose StatementEnd
-- +goose StatementBegin
REVOKE EXECUTE ON FUNCTION sessionguard_scs_data_refuse_retired() FROM PUBLIC;
-- +goose StatementEnd
-- +goose StatementBegin
REVOKE EXECUTE ON FUNCTION sessionguard_scs_data_end_with_truncated_sessions() FROM PUBLIC;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_scs_data_refuse_retired() SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION sessionguard_scs_data_end_with_truncated_sessions() SET search_path = %I, pg_temp',
                   current_schema());
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessionguard_scs_data'::regclass AND tgname = 'sessionguard_scs_data_refuse_retired') THEN
        CREATE TRIGGER sessionguard_scs_data_refuse_retired
            BEFORE INSERT ON sessionguard_scs_data
            FOR EACH ROW
            EXECUTE FUNCTION sessionguard_scs_data_refuse_retired();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_scs_data_on_session_truncate') THEN
        CREATE TRIGGER sessionguard_scs_data_on_session_truncate
            BEFORE TRUNCATE ON sessions
            FOR EACH STATEMENT
            EXECUTE FUNCTION sessionguard_scs_data_end_with_truncated_sessions();
    END IF;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
DELETE FROM sessionguard_scs_data d
USING sessionguard_retired_tokens r
WHERE d.token_hash = r.token_hash;
-- +goose StatementEnd
-- +goose StatementBegin
-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (34, '034_sessionguard_scs_data_follows_the_token.sql', 'c5e436fc249c554d154ac70cd9c0b1741105a39ae95f55343232164b4697e8d0')
ON CONFLICT (version) DO NOTHING;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 034_sessionguard_scs_data_follows_the_token.down.sql
-- Description: undoes 034_sessionguard_scs_data_follows_the_token.sql: a
-- late scs Commit stores data again under a token a re-authentication
-- rotated out, and TRUNCATE sessions leaves the signed-in sessions' data.

DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_truncate ON sessions;
-- +goose StatementEnd
-- +goose StatementBegin
DROP TRIGGER IF EXISTS sessionguard_scs_data_refuse_retired ON sessionguard_scs_data;
-- +goose StatementEnd
-- +goose StatementBegin
DROP FUNCTION IF EXISTS sessionguard_scs_data_end_with_truncated_sessions();
-- +goose StatementEnd
-- +goose StatementBegin
DROP FUNCTION IF EXISTS sessionguard_scs_data_refuse_retired();
-- +goose StatementEnd
-- +goose StatementBegin
DELETE FROM sessionguard_schema_migrations WHERE version = 34;
-- +goose StatementEnd
