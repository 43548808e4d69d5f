-- sessionguard's 025_sessionguard_cleanup.sql as golang-migrate version 25.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 025_sessionguard_cleanup.down.sql
-- Description: undoes 025_sessionguard_cleanup.sql. pgstore.Cleaner's walk of
-- the active sessions becomes a scan again.

DROP INDEX IF EXISTS idx_sessions_active_id;

DELETE FROM sessionguard_schema_migrations WHERE version = 25;
