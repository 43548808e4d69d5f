package schema

import (
	"fmt"
	"strings"
)

// recorded returns a migration's SQL and its down as a migration tool runs
// them: each records itself in (or removes itself from) the ledger Migrate
// reads, and the base migration adopts what the database already has.
func recorded(m Migration) (up, down string, err error) {
	if m.Version == BaseVersion {
		up, down, err = adoptingBase(m)
		return migrationLock() + up, migrationLock() + down, err
	}
	up = fmt.Sprintf(`%s%s
-- In sessionguard's ledger, so that schema.Migrate finds it applied.
INSERT INTO %s (version, name, checksum)
VALUES (%d, %s, %s)
ON CONFLICT (version) DO NOTHING;
`, migrationLock(), strings.TrimRight(m.SQL, "\n")+"\n", migrationsTable, m.Version, quoteLiteral(m.Name), quoteLiteral(m.Checksum()))
	down = fmt.Sprintf(`%s%s
DELETE FROM %s WHERE version = %d;
`, migrationLock(), strings.TrimRight(m.Down, "\n")+"\n", migrationsTable, m.Version)
	return up, down, nil
}

// migrationLock is the statement that opens every tool form of a migration:
// it waits for the transaction-scoped lock Migrate takes (lockKey) and holds
// it to the end of the migration's transaction. Without it a tool or a DBA's
// psql applying a file while an instance's Migrate applied the same one raced
// it: both ran the file, and the second failed (an index or constraint of the
// same name already made, a version already in the ledger).
func migrationLock() string {
	return fmt.Sprintf("-- Takes turns with schema.Migrate and other runs of these files.\nSELECT pg_advisory_xact_lock(%d);\n\n", lockKey)
}

// Dollar-quote tags of the base migration's wrapper; the wrapped SQL must not
// contain them.
const (
	baseBlockTag = "$sessionguard_base$"
	baseBodyTag  = "$sessionguard_base_sql$"
)

// adoptingBase wraps migration 022 in the decision Migrate makes in Go
// (adoptSeed): when the database has 022's sessions table, it is kept, rows
// and all, and recorded as adopted (022 runs only to restore a missing
// function); otherwise 022 runs as shipped. A sessions table without 022's columns stops the migration. Its
// down drops 022's objects only when the up created them.
func adoptingBase(m Migration) (up, down string, err error) {
	for _, sql := range []string{m.SQL, m.Down} {
		if strings.Contains(sql, baseBlockTag) || strings.Contains(sql, baseBodyTag) {
			return "", "", fmt.Errorf("schema: %s uses the dollar-quote tags of its tool form", m.Name)
		}
	}
	columns := make([]string, len(seedColumns))
	for i, c := range seedColumns {
		columns[i] = quoteLiteral(c)
	}
	functions := make([]string, len(seedFunctions))
	for i, f := range seedFunctions {
		functions[i] = fmt.Sprintf("\n        AND to_regprocedure(%s) IS NOT NULL", quoteLiteral(f))
	}
	up = fmt.Sprintf(`-- This form of %[2]s adopts what the database already
-- has. When it has the sessions table of that file (it ran the file by hand or
-- with another tool), the table stays as it is, rows and all, and is recorded
-- as adopted; the file runs when the table or one of its five functions is
-- missing. A table
-- named sessions that is not that one stops the migration.
DO %[3]s
DECLARE
    v_missing TEXT;
    v_adopted BOOLEAN;
BEGIN
    IF to_regclass('users') IS NULL OR to_regclass('tenants') IS NULL THEN
        RAISE EXCEPTION 'sessionguard: %[2]s references users(id) and tenants(id): create both tables first';
    END IF;
    IF to_regclass('sessions') IS NOT NULL THEN
        SELECT string_agg(c.name, ', ' ORDER BY c.n) INTO v_missing
        FROM unnest(ARRAY[%[4]s]) WITH ORDINALITY AS c(name, n)
        WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                          WHERE a.attrelid = to_regclass('sessions') AND a.attname = c.name
                            AND a.attnum > 0 AND NOT a.attisdropped);
        IF v_missing IS NOT NULL THEN
            RAISE EXCEPTION 'sessionguard: a table named sessions exists but is not the one of migration %[2]s: it lacks column(s) %%; rename the other table or point search_path elsewhere', v_missing;
        END IF;
    END IF;
    -- Adopted: the table was there, and stays when this is undone. The file
    -- runs when the table or one of its functions is missing.
    v_adopted := to_regclass('sessions') IS NOT NULL;
    IF NOT (v_adopted%[5]s) THEN
        EXECUTE %[6]s
%[7]s%[6]s;
    END IF;
    %[8]s;
    INSERT INTO %[9]s (version, name, checksum, adopted)
    VALUES (%[1]d, %[10]s, %[11]s, v_adopted)
    ON CONFLICT (version) DO NOTHING;
END
%[3]s;
`, m.Version, m.Name, baseBlockTag, strings.Join(columns, ", "), strings.Join(functions, ""),
		baseBodyTag, strings.TrimRight(m.SQL, "\n")+"\n", ledgerDDL, migrationsTable,
		quoteLiteral(m.Name), quoteLiteral(m.Checksum()))

	down = fmt.Sprintf(`-- Undoing %[6]s drops its objects only when its up
-- created them: a sessions table it adopted was the application's before
-- sessionguard, and stays, rows and all.
DO %[2]s
BEGIN
    IF to_regclass('%[3]s') IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM %[3]s WHERE version = %[1]d AND NOT adopted) THEN
        EXECUTE %[4]s
%[5]s%[4]s;
    END IF;
    DELETE FROM %[3]s WHERE version = %[1]d;
    IF NOT EXISTS (SELECT 1 FROM %[3]s) THEN
        DROP TABLE %[3]s;
    END IF;
END
%[2]s;
`, m.Version, baseBlockTag, migrationsTable, baseBodyTag, strings.TrimRight(m.Down, "\n")+"\n", m.Name)
	return up, down, nil
}

// quoteLiteral quotes s as an SQL string literal. The values are the
// library's own file names and checksums; quoting keeps the SQL valid anyway.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
