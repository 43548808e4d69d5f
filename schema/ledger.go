package schema

// ledgerDDL creates the table in which Migrate and every per-tool form
// (Goose, GolangMigrate, Tern) record the library's migrations, under the
// library's own numbers: one ledger whichever tool ran them, so that Migrate
// finds a tool's work done and applies nothing, and a tool's form finds
// Migrate's.
const ledgerDDL = `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		checksum   TEXT NOT NULL,
		adopted    BOOLEAN NOT NULL DEFAULT false,
		applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
	)`
