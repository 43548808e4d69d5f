-- Migration: 035_sessionguard_definer_functions_not_public.down.sql
-- Description: undoes 035_sessionguard_definer_functions_not_public.sql:
-- everyone may execute 031's and 033's SECURITY DEFINER trigger functions
-- again, as PostgreSQL created them.

GRANT EXECUTE ON FUNCTION sessionguard_retire_token() TO PUBLIC;
GRANT EXECUTE ON FUNCTION sessionguard_forget_retired_tokens() TO PUBLIC;
GRANT EXECUTE ON FUNCTION sessionguard_forget_retired_tokens_of_deleted() TO PUBLIC;
