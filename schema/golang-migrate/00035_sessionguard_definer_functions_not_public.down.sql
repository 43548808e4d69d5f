-- sessionguard's 035_sessionguard_definer_functions_not_public.sql as golang-migrate version 35.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 035_sessionguard_definer_functions_not_public.down.sql
-- Description: undoes 035_sessionguard_definer_functions_not_public.sql:
-- everyone may execute 031's and 033's SECURITY DEFINER trigger functions
-- again, as PostgreSQL created them.

GRANT EXECUTE ON FUNCTION sessionguard_retire_token() TO PUBLIC;
GRANT EXECUTE ON FUNCTION sessionguard_forget_retired_tokens() TO PUBLIC;
GRANT EXECUTE ON FUNCTION sessionguard_forget_retired_tokens_of_deleted() TO PUBLIC;

DELETE FROM sessionguard_schema_migrations WHERE version = 35;
