-- Migration: 037_sessionguard_ended_at_for_every_end.down.sql
-- Description: undoes 037_sessionguard_ended_at_for_every_end.sql: a
-- statement that ends a session without saying when leaves ended_at NULL
-- again, and the Cleaner never purges that row. The end times 037 gave the
-- rows ended before it stay: they are when those sessions were found ended.

DROP TRIGGER IF EXISTS sessionguard_record_end_time ON sessions;
DROP FUNCTION IF EXISTS sessionguard_record_end_time();
