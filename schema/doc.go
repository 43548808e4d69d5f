// Package schema holds sessionguard's SQL and applies it.
//
// The migrations are plain .sql files embedded with go:embed, numbered after
// the application's own migration 022 (022_add_session_management.sql, which
// created the sessions table and its five functions). Teams that use goose,
// golang-migrate, tern or atlas can copy the files from migrations/ into their
// own tool; every other application can call Migrate at start-up.
//
// Migrate adopts a database that already ran migration 022 by hand: it checks
// that the existing sessions table is the one 022 creates, records 022 as
// applied without running it again, and applies only what comes after.
package schema
