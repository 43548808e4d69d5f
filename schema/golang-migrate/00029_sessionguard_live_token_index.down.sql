-- sessionguard's 029_sessionguard_live_token_index.sql as golang-migrate version 29.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 029_sessionguard_live_token_index.down.sql
-- Description: undoes 029_sessionguard_live_token_index.sql. pgstore's token
-- lookup then reads the UNIQUE constraint's B-tree for live sessions too.

DROP INDEX IF EXISTS idx_sessions_live_token;

DELETE FROM sessionguard_schema_migrations WHERE version = 29;
