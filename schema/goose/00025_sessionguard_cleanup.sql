-- sessionguard's 025_sessionguard_cleanup.sql as goose version 25.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/goose) or by schema.Goose (any numbering): do not edit.

-- +goose Up
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 025_sessionguard_cleanup.sql
-- Description: an index that lets pgstore.Cleaner walk the active sessions
-- once, in id order, so ending a large backlog of expired sessions takes time
-- linear in the number of active rows.
--
-- Why: each expire batch used to find up to N due rows through
-- idx_sessions_active (is_active, partial) from its first entry. All keys of
-- that index are equal, so every batch stepped again over the live sessions
-- it had already passed (and over the entries of rows earlier batches ended,
-- dead until vacuum): ending a 400,000-row backlog in a table of a million
-- took 70-80 s in batches of 1000, and grew with the square of the backlog.
-- With this index each batch reads the next N active rows after the last id
-- of the previous batch (keyset pagination) and ends the expired ones among
-- them, so every active row is read once per cleanup run.
--
-- Touches stay HOT: the index covers id and its predicate is_active, neither
-- of which a touch writes (no index may cover last_activity_at, see 024).
-- idx_sessions_active (from 022) is kept: it is the seed's, and programs of
-- the application may rely on it.
--
-- The build locks the sessions table against writes (sign-ins, touches,
-- revokes) while it reads the table (seconds for millions of rows). It is
-- not built CONCURRENTLY because that waits for every transaction in the
-- database, including a second instance's Migrate queued on the migration
-- lock, which deadlocks. On a large table, build it by hand first, outside a
-- transaction, with the same statement and CONCURRENTLY after CREATE INDEX;
-- this file then finds it and does nothing (unless that build failed, see
-- below).
--
-- Idempotent: running this file twice is harmless.

-- A build by hand that failed (cancelled, timed out, deadlocked) leaves an
-- INVALID index of this name: never read, and perhaps still written. IF NOT
-- EXISTS would take it for the built index, so it is dropped and built again.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('idx_sessions_active_id') AND NOT indisvalid) THEN
        DROP INDEX idx_sessions_active_id;
    END IF;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE INDEX IF NOT EXISTS idx_sessions_active_id ON sessions (id) WHERE is_active = true;
-- +goose StatementEnd
-- +goose StatementBegin
-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (25, '025_sessionguard_cleanup.sql', 'dcf7daf00684c6fff3c7b5e4da2199dcc05ec26630129b48a718ce3f1b0cd68e')
ON CONFLICT (version) DO NOTHING;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 025_sessionguard_cleanup.down.sql
-- Description: undoes 025_sessionguard_cleanup.sql. pgstore.Cleaner's walk of
-- the active sessions becomes a scan again.

DROP INDEX IF EXISTS idx_sessions_active_id;
-- +goose StatementEnd
-- +goose StatementBegin
DELETE FROM sessionguard_schema_migrations WHERE version = 25;
-- +goose StatementEnd
