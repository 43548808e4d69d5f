-- Migration: 029_sessionguard_live_token_index.down.sql
-- Description: undoes 029_sessionguard_live_token_index.sql. pgstore's token
-- lookup then reads the UNIQUE constraint's B-tree for live sessions too.

DROP INDEX IF EXISTS idx_sessions_live_token;
