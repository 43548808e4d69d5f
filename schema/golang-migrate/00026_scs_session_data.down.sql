-- sessionguard's 026_scs_session_data.sql as golang-migrate version 26.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 026_scs_session_data.down.sql
-- Description: undoes 026_scs_session_data.sql. The session data of scs apps
-- (pgstore.SCSStore) is deleted with its table.

DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_delete ON sessions;
DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_end ON sessions;
DROP FUNCTION IF EXISTS sessionguard_scs_data_end_with_session();
DROP TABLE IF EXISTS sessionguard_scs_data;

DELETE FROM sessionguard_schema_migrations WHERE version = 26;
