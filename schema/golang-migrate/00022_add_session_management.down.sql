-- sessionguard's 022_add_session_management.sql as golang-migrate version 22.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

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
