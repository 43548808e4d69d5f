-- sessionguard's 027_sessionguard_reauthentication.sql as golang-migrate version 27.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 027_sessionguard_reauthentication.down.sql
-- Description: undoes 027_sessionguard_reauthentication.sql. The recorded
-- authentication times and strengths are deleted with their columns; a
-- pgstore of this version needs them, so stop it first.

ALTER TABLE sessions DROP COLUMN IF EXISTS amr;
ALTER TABLE sessions DROP COLUMN IF EXISTS acr;
ALTER TABLE sessions DROP COLUMN IF EXISTS auth_time;

DELETE FROM sessionguard_schema_migrations WHERE version = 27;
