-- Migration: 034_sessionguard_scs_data_follows_the_token.down.sql
-- Description: undoes 034_sessionguard_scs_data_follows_the_token.sql: a
-- late scs Commit stores data again under a token a re-authentication
-- rotated out, and TRUNCATE sessions leaves the signed-in sessions' data.

DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_truncate ON sessions;
DROP TRIGGER IF EXISTS sessionguard_scs_data_refuse_retired ON sessionguard_scs_data;
DROP FUNCTION IF EXISTS sessionguard_scs_data_end_with_truncated_sessions();
DROP FUNCTION IF EXISTS sessionguard_scs_data_refuse_retired();
