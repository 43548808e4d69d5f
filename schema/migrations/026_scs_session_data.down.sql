-- Migration: 026_scs_session_data.down.sql
-- Description: undoes 026_scs_session_data.sql. The session data of scs apps
-- (pgstore.SCSStore) is deleted with its table.

DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_delete ON sessions;
DROP TRIGGER IF EXISTS sessionguard_scs_data_on_session_end ON sessions;
DROP FUNCTION IF EXISTS sessionguard_scs_data_end_with_session();
DROP TABLE IF EXISTS sessionguard_scs_data;
