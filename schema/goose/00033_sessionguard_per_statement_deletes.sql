-- sessionguard's 033_sessionguard_per_statement_deletes.sql as goose version 33.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/goose) or by schema.Goose (any numbering): do not edit.

-- +goose Up
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 033_sessionguard_per_statement_deletes.sql
-- Description: a statement that deletes sessions forgets their retired
-- token hashes and their scs data once, not once per row.
--
-- Why: 031 deletes a session's retired hashes (sessionguard_retired_tokens)
-- with its row by a FOR EACH ROW trigger, as 026 deletes its scs data
-- (sessionguard_scs_data). Every row the Cleaner's purge deletes, and every
-- row of a large delete by hand, thus ran two function calls, each with its
-- switch of search_path (and of role, for 031's SECURITY DEFINER), and two
-- DELETEs through an index, almost always for nothing: only
-- re-authenticated sessions have retired hashes, and an ended session's
-- scs data went when it ended. pgstore's
-- TestPurgeForgetsRetiredHashesPerStatement counted 59 calls of each for a
-- DELETE of 59 rows.
--
-- What changes: FOR EACH STATEMENT triggers with the deleted rows as a
-- transition table replace the two per-row ones: per DELETE statement, one
-- DELETE of each table joining it to the deleted rows, planned knowing how
-- many rows the statement deleted. They fire for a delete cascading from
-- users as well. The retired hashes' function is SECURITY DEFINER, as
-- 031's; the scs data's is not, as 026's: a role that deletes sessions
-- needs SELECT and DELETE on sessionguard_scs_data, as before, and only
-- when its statement deleted a row. 031's and 026's TRUNCATE and UPDATE
-- triggers are unchanged. A statement's deleted rows are kept for the
-- triggers in memory up to work_mem, then in a temporary file.
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION sessionguard_forget_retired_tokens_of_deleted()
RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM sessionguard_retired_tokens r
    USING sessionguard_deleted_sessions d
    WHERE r.session_id = d.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_forget_retired_tokens_of_deleted() SET search_path = %I, pg_temp',
                   current_schema());
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION sessionguard_scs_data_end_with_deleted_sessions()
RETURNS TRIGGER AS $$
BEGIN
    -- Only when rows went: a statement trigger fires for a DELETE of none.
    IF EXISTS (SELECT 1 FROM sessionguard_deleted_sessions) THEN
        DELETE FROM sessionguard_scs_data s
        USING sessionguard_deleted_sessions d
        WHERE s.token_hash = d.session_token_hash;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_scs_data_end_with_deleted_sessions() SET search_path = %I, pg_temp',
                   current_schema());
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
-- The statement triggers keep the names of the per-row ones they replace,
-- so that 026 or 031 run again by hand (both idempotent) finds them and
-- adds no per-row trigger back.
DO $$
DECLARE
    v_trigger TEXT;
BEGIN
    FOREACH v_trigger IN ARRAY ARRAY['sessionguard_retired_tokens_on_session_delete',
                                     'sessionguard_scs_data_on_session_delete'] LOOP
        IF EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = v_trigger
                     AND (tgtype & 1) = 1) THEN -- FOR EACH ROW
            EXECUTE format('DROP TRIGGER %I ON sessions', v_trigger);
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_tokens_on_session_delete') THEN
        CREATE TRIGGER sessionguard_retired_tokens_on_session_delete
            AFTER DELETE ON sessions
            REFERENCING OLD TABLE AS sessionguard_deleted_sessions
            FOR EACH STATEMENT
            EXECUTE FUNCTION sessionguard_forget_retired_tokens_of_deleted();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_scs_data_on_session_delete') THEN
        CREATE TRIGGER sessionguard_scs_data_on_session_delete
            AFTER DELETE ON sessions
            REFERENCING OLD TABLE AS sessionguard_deleted_sessions
            FOR EACH STATEMENT
            EXECUTE FUNCTION sessionguard_scs_data_end_with_deleted_sessions();
    END IF;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (33, '033_sessionguard_per_statement_deletes.sql', 'ffca050deca5164d321c45c4125083cf5047d41945eea96e38542dbdcd4edb75')
ON CONFLICT (version) DO NOTHING;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 033_sessionguard_per_statement_deletes.down.sql
-- Description: undoes 033_sessionguard_per_statement_deletes.sql:
-- 031's and 026's per-row triggers forget a deleted session's retired
-- hashes and scs data again.

DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_session_delete ON sessions;
-- +goose StatementEnd
-- +goose StatementBegin
DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_delete ON sessions;
-- +goose StatementEnd
-- +goose StatementBegin
DROP FUNCTION IF EXISTS sessionguard_forget_retired_tokens_of_deleted();
-- +goose StatementEnd
-- +goose StatementBegin
DROP FUNCTION IF EXISTS sessionguard_scs_data_end_with_deleted_sessions();
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_tokens_on_session_delete') THEN
        CREATE TRIGGER sessionguard_retired_tokens_on_session_delete
            AFTER DELETE ON sessions
            FOR EACH ROW
            EXECUTE FUNCTION sessionguard_forget_retired_tokens();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_scs_data_on_session_delete') THEN
        CREATE TRIGGER sessionguard_scs_data_on_session_delete
            AFTER DELETE ON sessions
            FOR EACH ROW
            EXECUTE FUNCTION sessionguard_scs_data_end_with_session();
    END IF;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
DELETE FROM sessionguard_schema_migrations WHERE version = 33;
-- +goose StatementEnd
