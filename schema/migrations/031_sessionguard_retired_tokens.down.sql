-- Migration: 031_sessionguard_retired_tokens.down.sql
-- Description: undoes 031_sessionguard_retired_tokens.sql. The hashes that
-- re-authentications rotated out are deleted with their table, and a token
-- rotated out (before or after) can open a new session again through an
-- application that records tokens issued elsewhere (Guard.Record).

DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_session_truncate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_retired_tokens_on_session_delete ON sessions;
DROP TRIGGER IF EXISTS sessionguard_retired_token_rotate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_retired_token_insert ON sessions;
DROP FUNCTION IF EXISTS sessionguard_forget_retired_tokens();
DROP FUNCTION IF EXISTS sessionguard_retire_token();
DROP TABLE IF EXISTS sessionguard_retired_tokens;
