-- sessionguard's 037_sessionguard_ended_at_for_every_end.sql as golang-migrate version 37.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 037_sessionguard_ended_at_for_every_end.down.sql
-- Description: undoes 037_sessionguard_ended_at_for_every_end.sql: a
-- statement that ends a session without saying when leaves ended_at NULL
-- again, and the Cleaner never purges that row. The end times 037 gave the
-- rows ended before it stay: they are when those sessions were found ended.

DROP TRIGGER IF EXISTS sessionguard_record_end_time ON sessions;
DROP FUNCTION IF EXISTS sessionguard_record_end_time();

DELETE FROM sessionguard_schema_migrations WHERE version = 37;
