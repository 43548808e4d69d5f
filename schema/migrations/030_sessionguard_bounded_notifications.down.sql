-- Migration: 030_sessionguard_bounded_notifications.down.sql
-- Description: undoes 030_sessionguard_bounded_notifications.sql: every
-- session that ends is announced with its own notification again, however
-- many one transaction ends. The transaction-local setting it counted in
-- needs no cleanup.

-- 024's text, byte for byte.
CREATE OR REPLACE FUNCTION sessionguard_notify_ended()
RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('sessionguard_ended', '');
    ELSE
        PERFORM pg_notify('sessionguard_ended', OLD.session_token_hash);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
