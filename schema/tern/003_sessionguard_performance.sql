-- sessionguard's 024_sessionguard_performance.sql as tern version 3.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/tern) or by schema.Tern (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 024_sessionguard_performance.sql
-- Description: cheap touches and change notifications for the sessions table.
--
--  1. Touches become HOT updates. A touch writes only last_activity_at. While
--     an index covers that column, PostgreSQL must write a new entry into
--     EVERY index of the table for each touch (nine indexes after 022), and
--     the dead entries bloat them. Without such an index, and with free room
--     on the page, the new row version stays on its page and no index is
--     written (a heap-only tuple); later reads prune the old version.
--       - idx_sessions_last_activity is dropped. Nothing needs it any more:
--         since 023 the idle check compares
--         last_activity_at + idle_timeout_seconds with now(), which that index
--         cannot serve; cleanup finds candidates through idx_sessions_active
--         (is_active = true, partial) and absolute_expires_at, and purges
--         ended rows through idx_sessions_ended_at, both kept. The price:
--         "most recently active first" listings (an admin page over all
--         users) sort the active rows instead of reading an index backwards.
--       - fillfactor 80 leaves a fifth of each heap page free, so the new
--         version of a touched row fits on its own page. It applies to pages
--         written from now on; a VACUUM FULL or pg_repack applies it to an
--         existing table (not done here: it locks the table).
--  2. Notifications: every time a session stops being usable as it was —
--     is_active goes true -> false (revoke, logout, expiry recorded by a
--     check, cleanup, the seed's functions called by any program, a plain
--     UPDATE), an active row is deleted (ON DELETE CASCADE from users), or a
--     live row's scope or timing is changed by hand (shortened, moved back,
--     given to another user/tenant/app) — the transaction sends
--     NOTIFY sessionguard_ended with the row's token hash as payload, and a
--     TRUNCATE sends an empty payload ("forget everything"). In-process caches
--     (pgstore.Cache) listen and evict. PostgreSQL delivers them only when
--     the transaction commits; a rolled-back revoke notifies nobody. Touches
--     never notify (the trigger's WHEN clause is false for them, so they queue
--     no trigger event at all).
--  3. sessionguard_check keeps its signature and results, and its writes now
--     re-check their condition under the row lock: of concurrent checks of
--     one session, only one writes last_activity_at per touch interval
--     (before, each of them that had read the old value wrote it again), and
--     an expiry is recorded only if the newest row version is still expired
--     (before, a check that had read the row before a concurrent check's touch
--     ended the session that touch had just kept alive).
--
-- Every statement is idempotent, so running this file twice is harmless.

ALTER TABLE sessions SET (fillfactor = 80);

DROP INDEX IF EXISTS idx_sessions_last_activity;

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

DROP TRIGGER IF EXISTS sessionguard_ended_update ON sessions;
CREATE TRIGGER sessionguard_ended_update
    AFTER UPDATE ON sessions
    FOR EACH ROW
    WHEN (OLD.is_active AND (
        NOT NEW.is_active
        OR NEW.last_activity_at < OLD.last_activity_at
        OR (NEW.session_token_hash, NEW.user_id, NEW.tenant_id, NEW.app_type, NEW.absolute_expires_at, NEW.idle_timeout_seconds)
           IS DISTINCT FROM
           (OLD.session_token_hash, OLD.user_id, OLD.tenant_id, OLD.app_type, OLD.absolute_expires_at, OLD.idle_timeout_seconds)))
    EXECUTE FUNCTION sessionguard_notify_ended();

-- Deleting an ended row (the purge of old sessions) notifies nobody: no cache
-- holds an ended session, so a purge of a million rows costs no notification.
DROP TRIGGER IF EXISTS sessionguard_ended_delete ON sessions;
CREATE TRIGGER sessionguard_ended_delete
    AFTER DELETE ON sessions
    FOR EACH ROW
    WHEN (OLD.is_active)
    EXECUTE FUNCTION sessionguard_notify_ended();

DROP TRIGGER IF EXISTS sessionguard_ended_truncate ON sessions;
CREATE TRIGGER sessionguard_ended_truncate
    AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT
    EXECUTE FUNCTION sessionguard_notify_ended();

-- Same signature and results as 023. The changes are in its two writes,
-- whose conditions PostgreSQL re-checks on the newest row version after
-- waiting for a concurrent writer. The touch's UPDATE also requires
-- last_activity_at to be at least the interval old; the expiry's UPDATE also
-- requires the row to be past a deadline still. When either finds nothing,
-- the row is read again: ended meanwhile -> that reason (the revoke wins);
-- touched meanwhile by a concurrent check -> valid, with that touch's time;
-- gone -> unknown.
CREATE OR REPLACE FUNCTION sessionguard_check(
    p_token_hash VARCHAR(64),
    p_touch BOOLEAN DEFAULT true,
    p_touch_interval_seconds INTEGER DEFAULT 0,
    p_app_type VARCHAR(20) DEFAULT NULL,
    p_tenant_id INTEGER DEFAULT NULL
)
RETURNS TABLE (
    state VARCHAR(20),
    end_reason VARCHAR(50),
    session_id UUID,
    user_id INTEGER,
    tenant_id INTEGER,
    app_type VARCHAR(20),
    created_at TIMESTAMP WITH TIME ZONE,
    last_activity_at TIMESTAMP WITH TIME ZONE,
    idle_timeout_seconds INTEGER,
    absolute_expires_at TIMESTAMP WITH TIME ZONE,
    checked_at TIMESTAMP WITH TIME ZONE
) AS $$
DECLARE
    s sessions%ROWTYPE;
    v_now TIMESTAMP WITH TIME ZONE := CURRENT_TIMESTAMP;
    v_interval INTERVAL := make_interval(secs => GREATEST(p_touch_interval_seconds, 0));
    v_state VARCHAR(20);
    v_reason VARCHAR(50);
BEGIN
    SELECT * INTO s FROM sessions WHERE sessions.session_token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::VARCHAR(20), NULL::VARCHAR(50), NULL::UUID, NULL::INTEGER,
            NULL::INTEGER, NULL::VARCHAR(20), NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::INTEGER,
            NULL::TIMESTAMPTZ, v_now;
        RETURN;
    END IF;

    IF NOT s.is_active THEN
        v_reason := s.revoke_reason;
    ELSIF v_now >= s.absolute_expires_at THEN
        v_reason := 'absolute_timeout';
    ELSIF v_now >= s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) THEN
        v_reason := 'idle_timeout';
    END IF;

    IF v_reason IS NOT NULL AND p_touch AND s.is_active THEN
        -- The expiry is re-checked on the newest row version: a concurrent
        -- check that touched the row before its deadline has kept it alive.
        UPDATE sessions
        SET is_active = false, revoked_at = v_now, ended_at = v_now, revoke_reason = v_reason
        WHERE id = s.id AND is_active = true
          AND (v_now >= sessions.absolute_expires_at
               OR v_now >= sessions.last_activity_at + make_interval(secs => sessions.idle_timeout_seconds));
        IF NOT FOUND THEN
            -- Ended by someone else first (their reason), touched meanwhile
            -- (alive, as of that touch), or gone.
            SELECT * INTO s FROM sessions WHERE id = s.id;
            IF NOT FOUND THEN
                RETURN QUERY SELECT 'unknown'::VARCHAR(20), NULL::VARCHAR(50), NULL::UUID, NULL::INTEGER,
                    NULL::INTEGER, NULL::VARCHAR(20), NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::INTEGER,
                    NULL::TIMESTAMPTZ, v_now;
                RETURN;
            END IF;
            v_reason := CASE WHEN s.is_active THEN NULL ELSE s.revoke_reason END;
        END IF;
    END IF;

    IF v_reason IS NOT NULL OR NOT s.is_active THEN
        v_state := CASE v_reason
            WHEN 'idle_timeout' THEN 'idle_timeout'
            WHEN 'absolute_timeout' THEN 'absolute_timeout'
            ELSE 'revoked' END;
    ELSIF p_app_type IS NOT NULL AND s.app_type IS DISTINCT FROM p_app_type THEN
        v_state := 'wrong_app';
    ELSIF p_tenant_id IS NOT NULL AND s.tenant_id IS DISTINCT FROM p_tenant_id THEN
        v_state := 'wrong_tenant';
    ELSE
        v_state := 'valid';
        IF p_touch AND v_now - s.last_activity_at >= v_interval THEN
            UPDATE sessions SET last_activity_at = v_now
            WHERE id = s.id AND is_active = true AND sessions.last_activity_at <= v_now - v_interval;
            IF FOUND THEN
                s.last_activity_at := v_now;
            ELSE
                SELECT * INTO s FROM sessions WHERE id = s.id;
                IF NOT FOUND THEN
                    RETURN QUERY SELECT 'unknown'::VARCHAR(20), NULL::VARCHAR(50), NULL::UUID, NULL::INTEGER,
                        NULL::INTEGER, NULL::VARCHAR(20), NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::INTEGER,
                        NULL::TIMESTAMPTZ, v_now;
                    RETURN;
                ELSIF NOT s.is_active THEN
                    -- Revoked between our read and our touch: the revoke wins.
                    v_reason := s.revoke_reason;
                    v_state := CASE v_reason
                        WHEN 'idle_timeout' THEN 'idle_timeout'
                        WHEN 'absolute_timeout' THEN 'absolute_timeout'
                        ELSE 'revoked' END;
                END IF;
                -- Otherwise a concurrent check touched it: valid, as of that touch.
            END IF;
        END IF;
    END IF;

    RETURN QUERY SELECT v_state, v_reason, s.id, s.user_id, s.tenant_id, s.app_type, s.created_at,
        s.last_activity_at, s.idle_timeout_seconds, s.absolute_expires_at, v_now;
END;
$$ LANGUAGE plpgsql;

-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (24, '024_sessionguard_performance.sql', 'adddef81744195a2dcd98a41b1c5e9a62b67cab4b0cc441ce57066674eae975d')
ON CONFLICT (version) DO NOTHING;

---- create above / drop below ----

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 024_sessionguard_performance.down.sql
-- Description: undoes 024_sessionguard_performance.sql. The change
-- notifications stop (an in-process pgstore.Cache then learns of no
-- revocation: stop using it first), sessionguard_check is 023's again,
-- idx_sessions_last_activity comes back and the table's fillfactor returns to
-- the default. Rebuilding the index reads the whole table.

DROP TRIGGER IF EXISTS sessionguard_ended_truncate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_ended_delete ON sessions;
DROP TRIGGER IF EXISTS sessionguard_ended_update ON sessions;
DROP FUNCTION IF EXISTS sessionguard_notify_ended();

-- 023's text, byte for byte.
CREATE OR REPLACE FUNCTION sessionguard_check(
    p_token_hash VARCHAR(64),
    p_touch BOOLEAN DEFAULT true,
    p_touch_interval_seconds INTEGER DEFAULT 0,
    p_app_type VARCHAR(20) DEFAULT NULL,
    p_tenant_id INTEGER DEFAULT NULL
)
RETURNS TABLE (
    state VARCHAR(20),
    end_reason VARCHAR(50),
    session_id UUID,
    user_id INTEGER,
    tenant_id INTEGER,
    app_type VARCHAR(20),
    created_at TIMESTAMP WITH TIME ZONE,
    last_activity_at TIMESTAMP WITH TIME ZONE,
    idle_timeout_seconds INTEGER,
    absolute_expires_at TIMESTAMP WITH TIME ZONE,
    checked_at TIMESTAMP WITH TIME ZONE
) AS $$
DECLARE
    s sessions%ROWTYPE;
    v_now TIMESTAMP WITH TIME ZONE := CURRENT_TIMESTAMP;
    v_state VARCHAR(20);
    v_reason VARCHAR(50);
BEGIN
    SELECT * INTO s FROM sessions WHERE sessions.session_token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::VARCHAR(20), NULL::VARCHAR(50), NULL::UUID, NULL::INTEGER,
            NULL::INTEGER, NULL::VARCHAR(20), NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ, NULL::INTEGER,
            NULL::TIMESTAMPTZ, v_now;
        RETURN;
    END IF;

    IF NOT s.is_active THEN
        v_reason := s.revoke_reason;
    ELSIF v_now >= s.absolute_expires_at THEN
        v_reason := 'absolute_timeout';
    ELSIF v_now >= s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) THEN
        v_reason := 'idle_timeout';
    END IF;

    IF v_reason IS NOT NULL OR NOT s.is_active THEN
        IF p_touch AND s.is_active THEN
            UPDATE sessions
            SET is_active = false, revoked_at = v_now, ended_at = v_now, revoke_reason = v_reason
            WHERE id = s.id AND is_active = true;
            IF NOT FOUND THEN
                -- Someone else ended it first: report their reason.
                SELECT sessions.revoke_reason INTO v_reason FROM sessions WHERE id = s.id;
            END IF;
        END IF;
        v_state := CASE v_reason
            WHEN 'idle_timeout' THEN 'idle_timeout'
            WHEN 'absolute_timeout' THEN 'absolute_timeout'
            ELSE 'revoked' END;
    ELSIF p_app_type IS NOT NULL AND s.app_type IS DISTINCT FROM p_app_type THEN
        v_state := 'wrong_app';
    ELSIF p_tenant_id IS NOT NULL AND s.tenant_id IS DISTINCT FROM p_tenant_id THEN
        v_state := 'wrong_tenant';
    ELSE
        v_state := 'valid';
        IF p_touch AND v_now - s.last_activity_at >= make_interval(secs => GREATEST(p_touch_interval_seconds, 0)) THEN
            UPDATE sessions SET last_activity_at = v_now
            WHERE id = s.id AND is_active = true;
            IF FOUND THEN
                s.last_activity_at := v_now;
            ELSE
                -- Revoked between our read and our touch: the revoke wins.
                SELECT sessions.revoke_reason INTO v_reason FROM sessions WHERE id = s.id;
                v_state := CASE v_reason
                    WHEN 'idle_timeout' THEN 'idle_timeout'
                    WHEN 'absolute_timeout' THEN 'absolute_timeout'
                    ELSE 'revoked' END;
            END IF;
        END IF;
    END IF;

    RETURN QUERY SELECT v_state, v_reason, s.id, s.user_id, s.tenant_id, s.app_type, s.created_at,
        s.last_activity_at, s.idle_timeout_seconds, s.absolute_expires_at, v_now;
END;
$$ LANGUAGE plpgsql;

CREATE INDEX IF NOT EXISTS idx_sessions_last_activity ON sessions(last_activity_at);

ALTER TABLE sessions RESET (fillfactor);

DELETE FROM sessionguard_schema_migrations WHERE version = 24;
