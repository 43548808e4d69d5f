-- sessionguard's 029_sessionguard_live_token_index.sql as tern version 8.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/tern) or by schema.Tern (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 029_sessionguard_live_token_index.sql
-- Description: a hash index of the token hashes of live sessions, which
-- pgstore's token lookup reads first, so that checking a live session reads
-- two pages of the index (the metapage and one bucket) and one of the table
-- whatever the table's size.
--
-- Why: the UNIQUE constraint's B-tree (sessions_session_token_hash_key)
-- holds every row the Cleaner keeps for its retention, ended ones included:
-- at 10,000,000 rows it has four levels and about 96 MB per million rows,
-- and a random token's leaf page is rarely in memory. Live sessions are a
-- small share of the table (about one in ten in TestTenMillionSessions), and
-- a request only ever needs them fast; an ended session is looked up through
-- the B-tree when the hash index does not have it (pgstore's readSQL).
-- A hash index suits the lookup: equality only, on a value with no order
-- anyone asks for. It is WAL-logged and replicated like any index since
-- PostgreSQL 10. The B-tree stays: it is what makes a token hash unique.
--
-- What it costs: each sign-in writes one more index entry. A touch writes
-- none (it changes neither session_token_hash nor is_active, so it stays a
-- HOT update); ending a session writes none (the new row version is not
-- live); VACUUM removes the ended ones' entries.
--
-- CREATE INDEX reads the whole table and blocks writes to it while it runs;
-- it is not run CONCURRENTLY here for the reason 025 gives. On a large,
-- busy table build it by hand first, outside a transaction, with the
-- statement below and CONCURRENTLY after CREATE INDEX; this file then finds
-- it and does nothing (unless that build failed, see below).
--
-- Idempotent: running this file twice is harmless.

-- A build by hand that failed (cancelled, timed out, deadlocked) leaves an
-- INVALID index of this name: never read, and perhaps still written. IF NOT
-- EXISTS would take it for the built index, so it is dropped and built again.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('idx_sessions_live_token') AND NOT indisvalid) THEN
        DROP INDEX idx_sessions_live_token;
    END IF;
END $$;

CREATE INDEX IF NOT EXISTS idx_sessions_live_token ON sessions USING hash (session_token_hash) WHERE is_active;

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (29, '029_sessionguard_live_token_index.sql', '04ddacaeb7a2cb58c229bf9badeb0f373a503ecf86070aab3938f9a9d07e5658')
ON CONFLICT (version) DO NOTHING;

---- create above / drop below ----

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 029_sessionguard_live_token_index.down.sql
-- Description: undoes 029_sessionguard_live_token_index.sql. pgstore's token
-- lookup then reads the UNIQUE constraint's B-tree for live sessions too.

DROP INDEX IF EXISTS idx_sessions_live_token;

DELETE FROM sessionguard_schema_migrations WHERE version = 29;
