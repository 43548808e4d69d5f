-- sessionguard's 028_sessionguard_unused_indexes.sql as golang-migrate version 28.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 028_sessionguard_unused_indexes.down.sql
-- Description: undoes 028_sessionguard_unused_indexes.sql: the two indexes
-- come back as 022 created them. Building them reads the whole table and
-- blocks writes to it meanwhile; on a large table, build them by hand first
-- with CREATE INDEX CONCURRENTLY IF NOT EXISTS and the same definitions.

CREATE INDEX IF NOT EXISTS idx_sessions_token_hash ON sessions(session_token_hash);
CREATE INDEX IF NOT EXISTS idx_sessions_app_type ON sessions(app_type);

DELETE FROM sessionguard_schema_migrations WHERE version = 28;
