package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sessionguard/sessionguard/schema"
)

// migrationsTable is where schema.Migrate records what it applied. The
// printed script creates it as Migrate does and records each migration the
// same way, so that Migrate recognises a database migrated by hand
// (TestMigratePrintIsRecognised holds the two together).
const migrationsTable = "sessionguard_schema_migrations"

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    adopted    BOOLEAN NOT NULL DEFAULT false,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);`

// noTransaction is the first line of a migration that must run outside a
// transaction block (as schema.Migrate runs it).
const noTransaction = "-- sessionguard:no-transaction"

// printMigrations writes the SQL script of the migrations after version
// after: each one in its own transaction with its record, in version order.
func printMigrations(w io.Writer, after int) error {
	var b strings.Builder
	b.WriteString("-- sessionguard schema migrations, written by `sessionguard migrate --print`.\n")
	b.WriteString("-- Apply in order with psql -v ON_ERROR_STOP=1 -f FILE. Each migration and its record in\n")
	b.WriteString("-- " + migrationsTable + " commit together; schema.Migrate then finds them applied.\n\n")
	b.WriteString(createMigrationsTable + "\n")
	n := 0
	for _, m := range schema.Migrations() {
		if m.Version <= after {
			continue
		}
		n++
		inTx := !strings.HasPrefix(strings.TrimSpace(m.SQL), noTransaction)
		fmt.Fprintf(&b, "\n-- ===== %s =====\n", m.Name)
		if inTx {
			b.WriteString("BEGIN;\n")
		}
		b.WriteString(strings.TrimRight(m.SQL, "\n"))
		fmt.Fprintf(&b, "\n\nINSERT INTO %s (version, name, checksum) VALUES (%d, %s, %s)\n    ON CONFLICT (version) DO NOTHING;\n",
			migrationsTable, m.Version, sqlString(m.Name), sqlString(m.Checksum()))
		if inTx {
			b.WriteString("COMMIT;\n")
		}
	}
	if n == 0 {
		return fmt.Errorf("no migration has a version above %d: nothing to print", after)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sqlString is s as an SQL string literal (standard_conforming_strings, the
// default since PostgreSQL 9.1). The printed script is for psql, so a value
// cannot travel as a parameter; file names and hex checksums hold no quote,
// and one would still be escaped.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
