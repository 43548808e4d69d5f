// Package schema holds sessionguard's SQL and applies it.
//
// The migrations are plain .sql files in migrations/, embedded with go:embed:
// 022_add_session_management.sql (the application's own migration 022, which
// created the sessions table and its five functions, byte for byte) and the
// library's migrations after it, each with a .down.sql file that undoes it.
// They are the one source of everything else here.
//
// Applications without a migration tool call Migrate at start-up. It records
// what it applies in the table sessionguard_schema_migrations (the ledger;
// Applied reads it) and adopts a database that already ran migration 022: it
// checks that the sessions table is the one 022 creates (its columns, with
// their types, NOT NULLs and defaults, or differences shown to work), records
// 022 as adopted without running it again (a function of 022's dropped since
// is created again, alone), and applies only what comes after. A
// recorded migration whose checksum is not the embedded file's stops it
// (ErrChecksumMismatch): it neither runs that file again nor trusts it.
//
// Teams with a migration tool run the same migrations in that tool's form:
// Goose (github.com/pressly/goose/v3), GolangMigrate
// (github.com/golang-migrate/migrate/v4) and Tern (github.com/jackc/tern/v2)
// return them as an fs.FS numbered from the version the team chooses, and the
// folders goose/, golang-migrate/ and tern/ hold them as files for the tools'
// command lines (written by go generate ./schema; a test fails when they
// differ from what it would write). In these forms migration 022 makes
// Migrate's decision in SQL, adopting the seed's table or creating it, and
// every migration records itself in the same ledger, under the library's own
// number, so Migrate run later on that database finds nothing to do.
package schema
