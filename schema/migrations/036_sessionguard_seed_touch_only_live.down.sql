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
