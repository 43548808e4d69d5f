-- sessionguard's 028_sessionguard_unused_indexes.sql as golang-migrate version 28.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 028_sessionguard_unused_indexes.sql
-- Description: drops two of 022's indexes that no statement needs, so that
-- every insert and every ended session writes two index entries fewer and a
-- large table is about 103 MB smaller per million rows.
--
-- Evidence (pg_stat_user_indexes.idx_scan in pgstore's TestTenMillionSessions
-- at 10,000,000 rows, over every operation of pgstore, its Cleaner and the
-- seed's five functions; BENCHMARKS.md, "Ten million sessions"):
--
--  - idx_sessions_token_hash is the same B-tree as the index of the UNIQUE
--    constraint on session_token_hash (sessions_session_token_hash_key),
--    which stays: it is what makes a token hash unique. The planner took
--    either of the two; without this one every token lookup, the seed's
--    functions' included, uses the constraint's. 96 MB per million rows.
--  - idx_sessions_app_type: two values in the column; 0 scans. No statement
--    filters on app_type alone (session limits count a user's sessions of
--    one app through idx_sessions_user_id). 7 MB per million rows.
--
-- idx_sessions_tenant_id is kept although no statement of sessionguard used
-- it: sessions.tenant_id references tenants(id), and PostgreSQL checks a
-- DELETE of a tenant (or a change of its id) by looking up the sessions of
-- that tenant. Without the index each such check reads the whole sessions
-- table. The other indexes all serve statements (docs/SCALING.md, "A large
-- table").
--
-- DROP INDEX takes an ACCESS EXCLUSIVE lock on sessions: it waits for every
-- transaction that uses the table and blocks all requests behind it, though
-- the drop itself takes milliseconds. It is not run CONCURRENTLY here, for
-- the reason 025 gives (it would wait for a second instance's Migrate queued
-- on the migration lock). On a busy table, drop them by hand first, outside a
-- transaction, with the statements below and CONCURRENTLY after DROP INDEX;
-- this file then finds nothing to drop and does nothing.
--
-- Idempotent: running this file twice is harmless.

DROP INDEX IF EXISTS idx_sessions_token_hash;
DROP INDEX IF EXISTS idx_sessions_app_type;

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (28, '028_sessionguard_unused_indexes.sql', '4b198e652b46203156baa31769a57de266bcb968e59ecb10773e079e0a9092a1')
ON CONFLICT (version) DO NOTHING;
