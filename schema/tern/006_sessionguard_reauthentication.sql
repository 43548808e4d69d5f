-- sessionguard's 027_sessionguard_reauthentication.sql as tern version 6.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/tern) or by schema.Tern (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 027_sessionguard_reauthentication.sql
-- Description: when and how strongly the user of a session last proved who
-- they are, for re-authentication and step-up (ASVS 7.5.1, 7.5.3), and
-- per-user session limits (ASVS 7.1.2).
--
--  1. auth_time is the moment of the last authentication: set at sign-in and
--     at each re-authentication (pgstore.Store.Reauthenticate), by the
--     database's clock. It is NULL on rows created before this migration,
--     which were signed in when they were created: readers take
--     coalesce(auth_time, created_at). Adding the column without a default
--     and setting the default afterwards leaves existing rows as they are (no
--     table rewrite, no claim that they authenticated at migration time);
--     rows inserted later, by pgstore or by programs of the application,
--     get the time of their insert.
--  2. acr (authentication context class, e.g. "aal2", at most 100 bytes) and
--     amr (authentication methods, e.g. {pwd,otp}, RFC 8176) say how. NULL
--     means not recorded.
--  3. Session limits need nothing more from the table: pgstore counts a
--     user's live sessions through idx_sessions_user_id (022) under a
--     transaction-scoped advisory lock per user and app type, and ends the
--     sessions over the limit with revoke_reason 'session_limit'.
--
-- A re-authentication rotates the session's token: it changes
-- session_token_hash on the same row (id, created_at and the rest of its
-- history are kept). The triggers of 024 and 026 already treat that as the
-- end of the old token: caches are told to forget the old hash (NOTIFY
-- sessionguard_ended), and scs data still keyed by it is deleted, so pgstore
-- moves that data to the new hash first, in the same transaction.
--
-- Idempotent: running this file twice is harmless.

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS auth_time TIMESTAMP WITH TIME ZONE;
ALTER TABLE sessions ALTER COLUMN auth_time SET DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS acr VARCHAR(100);
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS amr TEXT[];

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (27, '027_sessionguard_reauthentication.sql', 'c56264b70acbbf743d043fba48da89db764fde1e8488bbe19fce360e7cbf4693')
ON CONFLICT (version) DO NOTHING;

---- create above / drop below ----

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
