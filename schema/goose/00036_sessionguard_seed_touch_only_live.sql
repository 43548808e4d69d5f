-- sessionguard's 036_sessionguard_seed_touch_only_live.sql as goose version 36.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/goose) or by schema.Goose (any numbering): do not edit.

-- +goose Up
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 036_sessionguard_seed_touch_only_live.sql
-- Description: the seed's update_session_activity touches only a session
-- that is still live, so a touch from a service of the older fleet never
-- brings an ended session back.
--
-- Why: 022's update_session_activity touched every row with is_active =
-- true. A session past its idle or absolute timeout stays so marked until a
-- check (get_session_status, sessionguard_check) or a cleanup records the
-- expiry; the library counts it ended from its deadline on (pgstore's
-- liveness rule, Stats' AwaitingCleanup). A service still calling the seed's
-- touch on such a session moved last_activity_at to now and answered true:
-- the idle session was live again for every check that followed, the
-- library's included, and the user signed back in by another service's
-- request. The seed's own contract met it too: get_session_status answers
-- valid a moment before the idle deadline, and update_session_activity runs
-- after it. DESIGN: a touch never brings an expired session back.
--
-- What changes: the touch also requires both deadlines ahead, by the
-- database's clock and the row's own idle_timeout_seconds (023), as every
-- check does; otherwise it touches nothing and answers false, as for a
-- revoked or unknown session. The condition is re-checked on the newest row
-- version after waiting for a concurrent writer. Same signature; the answers
-- differ only for sessions past a deadline (schema's
-- TestSeedTouchKeepsEndedSessionsEnded). The expiry is left to the next
-- check or cleanup to record, as before.
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION update_session_activity(p_token_hash VARCHAR(64))
RETURNS BOOLEAN AS $$
DECLARE
    v_updated INTEGER;
BEGIN
    UPDATE sessions
    SET last_activity_at = CURRENT_TIMESTAMP
    WHERE session_token_hash = p_token_hash
      AND is_active = true
      AND CURRENT_TIMESTAMP < absolute_expires_at
      AND CURRENT_TIMESTAMP < last_activity_at + make_interval(secs => idle_timeout_seconds);
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    RETURN v_updated > 0;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
-- +goose StatementBegin
-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (36, '036_sessionguard_seed_touch_only_live.sql', 'fe4c3f56d8d51833cde6d2e2a6f5b27fb27dd0334775206c6dfbbaa9bd4f61eb')
ON CONFLICT (version) DO NOTHING;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 036_sessionguard_seed_touch_only_live.down.sql
-- Description: undoes 036_sessionguard_seed_touch_only_live.sql:
-- update_session_activity touches every active row again, past its
-- deadlines or not.

-- 022's text, byte for byte.
CREATE OR REPLACE FUNCTION update_session_activity(p_token_hash VARCHAR(64))
RETURNS BOOLEAN AS $$
DECLARE
    v_updated INTEGER;
BEGIN
    UPDATE sessions
    SET last_activity_at = CURRENT_TIMESTAMP
    WHERE session_token_hash = p_token_hash
      AND is_active = true;
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    RETURN v_updated > 0;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
-- +goose StatementBegin
DELETE FROM sessionguard_schema_migrations WHERE version = 36;
-- +goose StatementEnd
