-- Migration: 033_sessionguard_per_statement_deletes.down.sql
-- Description: undoes 033_sessionguard_per_statement_deletes.sql:
-- 031's and 026's per-row triggers forget a deleted session's retired
-- hashes and scs data again.

DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_session_delete ON sessions;
DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_delete ON sessions;
DROP FUNCTION IF EXISTS sessionguard_forget_retired_tokens_of_deleted();
DROP FUNCTION IF EXISTS sessionguard_scs_data_end_with_deleted_sessions();

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
