-- Migration: 027_sessionguard_reauthentication.down.sql
-- Description: undoes 027_sessionguard_reauthentication.sql. The recorded
-- authentication times and strengths are deleted with their columns; a
-- pgstore of this version needs them, so stop it first.

ALTER TABLE sessions DROP COLUMN IF EXISTS amr;
ALTER TABLE sessions DROP COLUMN IF EXISTS acr;
ALTER TABLE sessions DROP COLUMN IF EXISTS auth_time;
