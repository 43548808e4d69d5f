-- Migration: 038_sessionguard_seed_ends_in_hash_order.sql
-- Description: the seed's functions that end several sessions lock them in
-- token hash order first, as pgstore does, so that an older service's call
-- never deadlocks with the library's touch batch.
--
-- Why: pgstore answers concurrent requests with one statement
-- (Config.MaxBatch, on by default) that runs sessionguard_check for many
-- sessions and so locks their rows one after the other, in token hash
-- order; pgstore's own statements that end several sessions lock theirs in
-- that order first (its endInOrder). 022's revoke_all_user_sessions and
-- cleanup_expired_sessions (023's) took their rows in whatever order the
-- plan gave, the cleanup in two statements (absolute, then idle). A call of
-- an older service that took a session the batch still waited for, and then
-- waited for one the batch held, closed a cycle, and PostgreSQL broke it by
-- failing one of the two with 40P01 after deadlock_timeout: either a
-- password change whose revoke_all_user_sessions ended none of the user's
-- sessions, or a batch of requests refused as an outage (pgstore's
-- TestSeedMultiRowEndsNeverDeadlockWithTouchBatches).
--
-- What changes: each function first locks the sessions it will end, in
-- session_token_hash order by bytes (COLLATE "C", the batch's sort), and
-- then ends exactly those that are still active (and, for the cleanup,
-- still past a deadline: a session a check touched while the cleanup waited
-- is kept). A statement that waits holds no row the batch needs. The
-- cleanup ends both kinds in one statement, each with 022's reason
-- (absolute first, as 022). Same signatures and results.
--
-- A statement of your own that ends several sessions should do the same:
-- lock them with SELECT ... ORDER BY session_token_hash COLLATE "C" FOR NO
-- KEY UPDATE first.
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION revoke_all_user_sessions(p_user_id INTEGER, p_reason VARCHAR(50) DEFAULT 'password_change')
RETURNS INTEGER AS $$
DECLARE
    v_updated INTEGER;
BEGIN
    WITH doomed AS MATERIALIZED (
        SELECT s.id FROM sessions s
        WHERE s.user_id = p_user_id
          AND s.is_active = true
        ORDER BY s.session_token_hash COLLATE "C"
        FOR NO KEY UPDATE)
    UPDATE sessions s
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = p_reason
    FROM doomed
    WHERE s.id = doomed.id
      AND s.is_active = true;
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    RETURN v_updated;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION cleanup_expired_sessions()
RETURNS INTEGER AS $$
DECLARE
    rows_affected INTEGER := 0;
BEGIN
    WITH due AS MATERIALIZED (
        SELECT s.id FROM sessions s
        WHERE s.is_active = true
          AND (s.absolute_expires_at < CURRENT_TIMESTAMP
               OR s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) < CURRENT_TIMESTAMP)
        ORDER BY s.session_token_hash COLLATE "C"
        FOR NO KEY UPDATE)
    UPDATE sessions s
    SET is_active = false,
        revoked_at = CURRENT_TIMESTAMP,
        ended_at = CURRENT_TIMESTAMP,
        revoke_reason = CASE WHEN s.absolute_expires_at < CURRENT_TIMESTAMP
                             THEN 'absolute_timeout' ELSE 'idle_timeout' END
    FROM due
    WHERE s.id = due.id
      AND s.is_active = true
      AND (s.absolute_expires_at < CURRENT_TIMESTAMP
           OR s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) < CURRENT_TIMESTAMP);
    GET DIAGNOSTICS rows_affected = ROW_COUNT;
    RETURN rows_affected;
END;
$$ LANGUAGE plpgsql;
