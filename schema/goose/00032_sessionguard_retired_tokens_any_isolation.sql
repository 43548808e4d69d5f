-- sessionguard's 032_sessionguard_retired_tokens_any_isolation.sql as goose version 32.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/goose) or by schema.Goose (any numbering): do not edit.

-- +goose Up
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
-- Migration: 032_sessionguard_retired_tokens_any_isolation.sql
-- Description: 031's refusal of a retired token hash holds whatever the
-- transaction isolation of the session's writer.
--
-- Why: 031's trigger checks for a retired hash with a query, after the
-- insert has waited on the UNIQUE index for a rotation of that hash to
-- commit. Its argument holds under READ COMMITTED only, where each query of
-- the function reads with a new snapshot. Under REPEATABLE READ or
-- SERIALIZABLE (a database or role whose default_transaction_isolation says
-- so, which pgstore's statements then run under), every query reads with
-- the snapshot of the transaction's first statement, taken before the wait:
-- the check missed the rotation it had waited for, and the token the
-- rotation retired opened a new session (pgstore's
-- TestCreateWaitingOnTheRotation, "repeatable read" and "serializable").
--
-- What changes: outside READ COMMITTED, after the query finds nothing, the
-- trigger asks the table's primary key instead, which sees every committed
-- row whatever the snapshot: it inserts the hash there with ON CONFLICT DO
-- NOTHING and deletes it again. A retired row the snapshot cannot see
-- makes PostgreSQL refuse that insert with serialization_failure, which
-- the trigger reports as the retired hash's unique_violation, as the query
-- does; one committed meanwhile, still in progress, is waited for first.
-- The function is otherwise 031's, with the same SECURITY DEFINER and
-- search_path, which CREATE OR REPLACE resets and this file sets again.
--
-- What it costs: under READ COMMITTED, reading one setting per session
-- inserted or rotated. Otherwise also a subtransaction, and an insert and
-- delete of one row, per session inserted or rotated.
--
-- Idempotent: running this file twice is harmless.

CREATE OR REPLACE FUNCTION sessionguard_retire_token()
RETURNS TRIGGER AS $$
DECLARE
    v_twin TEXT;
    v_probed BOOLEAN;
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
    v_probed := NOT EXISTS (SELECT 1 FROM sessionguard_retired_tokens WHERE token_hash = NEW.session_token_hash);
    IF v_probed AND pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        -- The query read the transaction's snapshot; the primary key sees
        -- the rotation committed after it.
        BEGIN
            INSERT INTO sessionguard_retired_tokens (token_hash, session_id)
            VALUES (NEW.session_token_hash, NEW.id)
            ON CONFLICT (token_hash) DO NOTHING;
            v_probed := FOUND;
        EXCEPTION WHEN serialization_failure THEN
            v_probed := false;
        END;
        IF v_probed THEN
            DELETE FROM sessionguard_retired_tokens WHERE token_hash = NEW.session_token_hash;
        END IF;
    END IF;
    IF NOT v_probed THEN
        -- No hash in the message: it is a credential's.
        RAISE EXCEPTION 'session token was retired by a re-authentication'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'sessionguard_retired_tokens_pkey',
                  TABLE = 'sessionguard_retired_tokens';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_retire_token() SET search_path = %I, pg_temp',
                   current_schema());
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO sessionguard_schema_migrations (version, name, checksum)
VALUES (32, '032_sessionguard_retired_tokens_any_isolation.sql', '739cdc04b264112ab67231f79cf4cca331a1e385bfaab4a8e47534cafeafba40')
ON CONFLICT (version) DO NOTHING;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
-- Takes turns with schema.Migrate and other runs of these files.
SELECT pg_advisory_xact_lock(1659510940893184);
-- +goose StatementEnd
-- +goose StatementBegin
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
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION sessionguard_retire_token() SET search_path = %I, pg_temp',
                   current_schema());
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
DELETE FROM sessionguard_schema_migrations WHERE version = 32;
-- +goose StatementEnd
