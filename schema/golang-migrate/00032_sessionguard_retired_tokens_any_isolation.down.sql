-- sessionguard's 032_sessionguard_retired_tokens_any_isolation.sql as golang-migrate version 32.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/golang-migrate) or by schema.GolangMigrate (any numbering): do not edit.

-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);

-- Migration: 032_sessionguard_retired_tokens_any_isolation.down.sql
-- Description: undoes 032_sessionguard_retired_tokens_any_isolation.sql:
-- 031's trigger function again, which refuses a retired hash race-free
-- under READ COMMITTED only.

-- 031's text, byte for byte.
CREATE OR REPLACE FUNCTION sessionguard_retire_token()
RETURNS TRIGGER AS $$
DECLARE
    v_twin TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO sessionguard_retired_tokens (token_hash, session_id)
        VALUES (OLD.session_token_hash, NEW.id);
        v_twin := pg_catalog.current_setting('sessionguard.retired_twin', true);
        IF v_twin <> '' THEN
            -- Retired already when the transaction rotates again.
            INSERT INTO sessionguard_retired_tokens (token_hash, session_id)
            VALUES (v_twin, NEW.id)
            ON CONFLICT (token_hash) DO NOTHING;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM sessionguard_retired_tokens WHERE token_hash = NEW.session_token_hash) THEN
        -- No hash in the message: it is a credential's.
        RAISE EXCEPTION 'session token was retired by a re-authentication'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'sessionguard_retired_tokens_pkey',
                  TABLE = 'sessionguard_retired_tokens';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_retire_token() SET search_path = %I, pg_temp',
                   current_schema());
END $$;

DELETE FROM sessionguard_schema_migrations WHERE version = 32;
