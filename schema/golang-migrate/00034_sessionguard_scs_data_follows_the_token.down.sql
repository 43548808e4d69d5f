-- sessionguard's 034_sessionguard_scs_data_follows_the_token.sql as golang-migrate version 34.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 034_sessionguard_scs_data_follows_the_token.down.sql
-- Description: undoes 034_sessionguard_scs_data_follows_the_token.sql: a
-- late scs Commit stores data again under a token a re-authentication
-- rotated out, and TRUNCATE sessions leaves the signed-in sessions' data.

DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_truncate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_scs_data_refuse_retired ON sessionguard_scs_data;
DROP FUNCTION IF EXISTS sessionguard_scs_data_end_with_truncated_sessions();
DROP FUNCTION IF EXISTS sessionguard_scs_data_refuse_retired();

DELETE FROM sessionguard_schema_migrations WHERE version = 34;
