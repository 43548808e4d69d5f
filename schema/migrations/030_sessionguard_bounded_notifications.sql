-- Migration: 030_sessionguard_bounded_notifications.sql
-- Description: a transaction that ends many sessions sends one "forget
-- everything" notification instead of one notification per session.
--
-- Why: 024's trigger sends NOTIFY sessionguard_ended with the token hash for
-- every session that ends. A statement that ends a million sessions at once
-- (pgstore's RevokeEveryone, "sign everybody out now" after a breach; a
-- RevokeAll of a large account; a cleanup batch far larger than pgstore's
-- Cleaner's default) therefore queued a million notifications: about 100
-- bytes each in the committing backend's memory and in the server's NOTIFY
-- queue, and a million messages for every listening instance, which handled
-- them one by one. Until an instance reached a session's notification, its
-- pgstore.Cache kept answering "valid" for that session from memory: the
-- revocation reached the instances the later the more sessions it ended,
-- in the very incident it was made for.
--
-- What changes: a transaction still announces each of the first 1,000
-- sessions it ends with its token hash. The 1,001st sends an empty payload,
-- which has always meant "forget every session" (a TRUNCATE sends it; a
-- pgstore.Cache empties itself and, with a read replica, takes no "valid"
-- from the replica until it has replayed past the revocation), and the rest
-- of the transaction sends nothing more. A listener thus handles at most
-- 1,001 notifications per transaction, whatever the transaction ended.
--
-- Why 1,000: it is pgstore's default Cleaner batch (CleanerConfig.BatchSize),
-- which ends at most that many expired sessions per transaction, so routine
-- cleanup never empties the caches; nor do a user's sign-outs or a password
-- change, which end a few sessions. 1,000 notifications are about 100 kB.
-- An emptied cache costs one database check per session in use, once:
-- cheap next to an event that ends more than 1,000 sessions at once.
--
-- How: the trigger counts the sessions its transaction has ended in a
-- transaction-local setting, sessionguard.ended_in_transaction, tagged with
-- the transaction's id (so that a value set for the whole session by hand
-- counts for nothing). PostgreSQL discards a setting made with
-- set_config(..., true) at the end of the transaction, and what a savepoint
-- set when the savepoint is rolled back, along with the notifications queued
-- after it: a rolled-back part of a transaction neither sends nor counts.
-- The function calls only pg_catalog's functions by their qualified names,
-- so it works whatever the search_path of whoever ends a session (026's
-- reason for pinning one) without the cost of a SET clause on every row.
--
-- What it costs: reading the setting for each session ended, and writing it
-- for the first 1,001 of a transaction. A TRUNCATE still sends one empty
-- payload, and touches still fire no trigger.
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION sessionguard_notify_ended()
RETURNS TRIGGER AS $$
DECLARE
    v_xact TEXT;
    v_seen TEXT;
    v_ended INTEGER := 1;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_catalog.pg_notify('sessionguard_ended', '');
        RETURN NULL;
    END IF;
    v_xact := pg_catalog.pg_current_xact_id()::TEXT || ':';
    v_seen := pg_catalog.current_setting('sessionguard.ended_in_transaction', true);
    IF pg_catalog.starts_with(v_seen, v_xact) THEN
        v_ended := pg_catalog.substr(v_seen, pg_catalog.length(v_xact) + 1)::INTEGER + 1;
    END IF;
    IF v_ended > 1001 THEN
        RETURN NULL; -- the empty payload is queued already
    END IF;
    PERFORM pg_catalog.set_config('sessionguard.ended_in_transaction', v_xact || v_ended::TEXT, true);
    IF v_ended <= 1000 THEN
        PERFORM pg_catalog.pg_notify('sessionguard_ended', OLD.session_token_hash);
    ELSE
        PERFORM pg_catalog.pg_notify('sessionguard_ended', '');
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
