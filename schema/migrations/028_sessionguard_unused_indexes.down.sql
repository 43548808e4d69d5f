-- Migration: 028_sessionguard_unused_indexes.down.sql
-- Description: undoes 028_sessionguard_unused_indexes.sql: the two indexes
-- come back as 022 created them. Building them reads the whole table and
-- blocks writes to it meanwhile; on a large table, build them by hand first
-- with CREATE INDEX CONCURRENTLY IF NOT EXISTS and the same definitions.

CREATE INDEX IF NOT EXISTS idx_sessions_token_hash ON sessions(session_token_hash);
CREATE INDEX IF NOT EXISTS idx_sessions_app_type ON sessions(app_type);
