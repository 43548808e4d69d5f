-- sessionguard's 037_sessionguard_ended_at_for_every_end.sql as golang-migrate version 37.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 037_sessionguard_ended_at_for_every_end.sql
-- Description: a session ended by a statement that does not say when gets
-- its end time, so that it is counted, kept for the retention period and
-- then purged like every other ended session.
--
-- Why: the seed lets programs of the application end sessions with an
-- UPDATE of their own, and services of the older fleet do, naming what they
-- care about: is_active = false, perhaps a reason or revoked_at. Every end
-- of the seed's functions and of pgstore sets ended_at ("when the session
-- ended, any reason", 022); such a statement left it NULL. pgstore reads
-- ended_at for the sessions that ended in a period (Stats: "why sessions
-- ended") and the Cleaner deletes ended rows by it after its retention, so
-- the row was in no count and never deleted: it stayed forever, and with it
-- the token hashes its re-authentications had retired (031), which live as
-- long as the row.
--
-- What changes: a BEFORE UPDATE OF is_active trigger, for a row that goes
-- from active to ended without an ended_at or a revoked_at, fills them in:
-- ended_at with the statement's revoked_at if it gave one, else the
-- transaction's time (CURRENT_TIMESTAMP, as every other end); revoked_at
-- with ended_at, as every other end sets both. A value the statement gives
-- is kept. A value the active row still had counts as not given: it is an
-- earlier end's, left by a statement that set is_active back to true, and
-- kept, it put this end in the wrong period of Stats and let the Cleaner
-- purge the row at once (TestDirectEndAfterReactivationRecordsTheNewEnd).
-- revoke_reason stays as the statement left it: NULL says that no reason was
-- given (pgstore's Stats counts it under ""), and NULL passes any CHECK of
-- your own on the column, where a made-up reason might not (schema's
-- TestDirectEndRecordsWhenTheSessionEnded).
--
-- Sessions ended so before this migration get their end time here, by the
-- same rule (the revoked_at the statement gave, else the migration's time,
-- so that they are kept for the retention period from now): the trigger only
-- sees the ends after it, and those rows would stay uncounted and unpurged
-- (schema's TestEndTimeRecordedForSessionsEndedBefore037). The UPDATE names
-- neither is_active nor the token hash, so it fires none of the table's
-- triggers; idx_sessions_ended_at finds the rows.
--
-- What it costs: nothing for a touch, which does not name is_active (the
-- trigger is not even queued, and the update stays HOT); for an end that
-- names both times (every function's and pgstore's), the WHEN clause alone.
-- The function writes only NEW: it needs no privilege and runs as whoever
-- ends the session.
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION sessionguard_record_end_time()
RETURNS TRIGGER AS $$
DECLARE
    -- A value the row had while active is an earlier end's, not this one's.
    v_revoked_at TIMESTAMP WITH TIME ZONE := CASE WHEN NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN NEW.revoked_at END;
    v_ended_at TIMESTAMP WITH TIME ZONE := CASE WHEN NEW.ended_at IS DISTINCT FROM OLD.ended_at THEN NEW.ended_at END;
BEGIN
    NEW.ended_at := coalesce(v_ended_at, v_revoked_at, CURRENT_TIMESTAMP);
    NEW.revoked_at := coalesce(v_revoked_at, NEW.ended_at);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'sessions'::regclass AND tgname = 'sessionguard_record_end_time') THEN
        CREATE TRIGGER sessionguard_record_end_time
            BEFORE UPDATE OF is_active ON sessions
            FOR EACH ROW
            WHEN (OLD.is_active AND NOT NEW.is_active
                  AND (NEW.ended_at IS NOT DISTINCT FROM OLD.ended_at OR NEW.revoked_at IS NOT DISTINCT FROM OLD.revoked_at))
            EXECUTE FUNCTION sessionguard_record_end_time();
    END IF;
END $$;

UPDATE sessions
SET ended_at = coalesce(revoked_at, CURRENT_TIMESTAMP),
    revoked_at = coalesce(revoked_at, CURRENT_TIMESTAMP)
WHERE is_active = false
  AND ended_at IS NULL;

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (37, '037_sessionguard_ended_at_for_every_end.sql', '20b09e9772c2b91abf9a3afea6088659023ccf11f19929fe9222dc30e393ab08')
ON CONFLICT (version) DO NOTHING;
