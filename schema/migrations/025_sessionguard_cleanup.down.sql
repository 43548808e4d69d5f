-- Migration: 025_sessionguard_cleanup.down.sql
-- Description: undoes 025_sessionguard_cleanup.sql. pgstore.Cleaner's walk of
-- the active sessions becomes a scan again.

DROP INDEX IF EXISTS idx_sessions_active_id;
