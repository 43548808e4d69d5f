-- Migration: 035_sessionguard_definer_functions_not_public.sql
-- Description: only their owner may execute the SECURITY DEFINER trigger
-- functions of 031 and 033, so no role can run them on a table of its own.
--
-- Why: PostgreSQL lets everyone execute a new function, and a trigger
-- function runs on whatever table a trigger puts it. 031's and 033's run
-- with the rights of the role that migrated, which may delete and insert
-- retired hashes. A role with no right at all made a temporary table (which
-- needs none), put sessionguard_forget_retired_tokens on it as a TRUNCATE
-- trigger and truncated it: every retired hash was gone, and a token a
-- re-authentication had rotated out could open a session again (Guard.Record),
-- which 031 says no application role can bring about. With
-- sessionguard_retire_token on an UPDATE trigger it could retire any hash
-- it chose; with sessionguard_forget_retired_tokens_of_deleted, forget the
-- retired hashes of any session. (034 keeps its own two functions to their
-- owner where it creates them.)
--
-- What changes: EXECUTE on the three is revoked from PUBLIC. A trigger runs
-- its function without checking EXECUTE, so the triggers on sessions fire
-- for every role as before (pgstore's TestRetiredTokenNeedsNoGrant,
-- TestDefinerFunctionsAreNotPublic).
--
-- Idempotent: running this file twice is harmless.

REVOKE EXECUTE ON FUNCTION sessionguard_retire_token() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sessionguard_forget_retired_tokens() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION sessionguard_forget_retired_tokens_of_deleted() FROM PUBLIC;
