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
-- Nor does the touch move last_activity_at back. A service that wraps a
-- request in a transaction touches with the transaction's start time
-- (CURRENT_TIMESTAMP); a check of the library that touched the session
-- meanwhile wrote a later time, which 022's touch overwrote with the earlier
-- one: the idle deadline moved back by the transaction's age, and 024's
-- trigger took the move for a shortened session and told every Cache to
-- forget it. The touch keeps the later of the two
-- (TestSeedTouchNeverMovesActivityBack).
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION update_session_activity(p_token_hash VARCHAR(64))
RETURNS BOOLEAN AS $$
DECLARE
    v_updated INTEGER;
BEGIN
    UPDATE sessions
    SET last_activity_at = GREATEST(last_activity_at, CURRENT_TIMESTAMP)
    WHERE session_token_hash = p_token_hash
      AND is_active = true
      AND CURRENT_TIMESTAMP < absolute_expires_at
      AND CURRENT_TIMESTAMP < last_activity_at + make_interval(secs => idle_timeout_seconds);
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    RETURN v_updated > 0;
END;
$$ LANGUAGE plpgsql;
