-- sessionguard's 033_sessionguard_retired_tokens_statement_delete.sql as tern version 12.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/tern) or by schema.Tern (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 033_sessionguard_retired_tokens_statement_delete.sql
-- Description: a statement that deletes sessions forgets their retired
-- token hashes once, not once per row.
--
-- Why: 031 deletes a session's retired hashes (sessionguard_retired_tokens)
-- with its row by a FOR EACH ROW trigger. Every row the Cleaner's purge
-- deletes, and every row of a large delete by hand, thus ran a function
-- call with its SECURITY DEFINER switch of role and search_path, and a
-- DELETE through the index on session_id, almost always for nothing:
-- only re-authenticated sessions have retired hashes. pgstore's
-- TestPurgeForgetsRetiredHashesPerStatement counted 59 calls for a DELETE
-- of 59 rows.
--
-- What changes: a FOR EACH STATEMENT trigger with the deleted rows as a
-- transition table replaces the per-row one: one DELETE joining the
-- retired hashes to the deleted ids, planned knowing how many rows the
-- statement deleted. It fires for a delete cascading from users as well.
-- 031's TRUNCATE trigger is unchanged. The function is SECURITY DEFINER
-- with a pinned search_path, for 031's reasons.
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

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_forget_retired_tokens_of_deleted() SET search_path = %I, pg_temp',
                   current_schema());
END $$;

DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_session_delete ON sessions;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_tokens_on_sessions_delete') THEN
        CREATE TRIGGER sessionguard_retired_tokens_on_sessions_delete
            AFTER DELETE ON sessions
            REFERENCING OLD TABLE AS sessionguard_deleted_sessions
            FOR EACH STATEMENT
            EXECUTE FUNCTION sessionguard_forget_retired_tokens_of_deleted();
    END IF;
END $$;

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (33, '033_sessionguard_retired_tokens_statement_delete.sql', '7bfb6d6ae2b88f0e860c6019db604d5d032f80f37c83dbaba5340d68a3fe1d57')
ON CONFLICT (version) DO NOTHING;

---- create above / drop below ----

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 033_sessionguard_retired_tokens_statement_delete.down.sql
-- Description: undoes 033_sessionguard_retired_tokens_statement_delete.sql:
-- 031's per-row trigger forgets a deleted session's retired hashes again.

DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_sessions_delete ON sessions;
DROP FUNCTION IF EXISTS sessionguard_forget_retired_tokens_of_deleted();

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_retired_tokens_on_session_delete') THEN
        CREATE TRIGGER sessionguard_retired_tokens_on_session_delete
            AFTER DELETE ON sessions
            FOR EACH ROW
            EXECUTE FUNCTION sessionguard_forget_retired_tokens();
    END IF;
END $$;

DELETE FROM sessionguard_schema_migrations WHERE version = 33;
