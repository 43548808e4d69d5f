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
// it waits for the transaction-scoped lock Migrate takes (LockKey) and holds
// it to the end of the migration's transaction. Without it a tool or a DBA's
// psql applying a file while an instance's Migrate applied the same one raced
// it: both ran the file, and the second failed (an index or constraint of the
// same name already made, a version already in the ledger).
func migrationLock() string {
	return fmt.Sprintf("-- Takes turns with schema.Migrate and other runs of these files.\nSELECT pg_advisory_xact_lock(%d);\n\n", LockKey)
}

// Dollar-quote tags of the base migration's wrapper; the wrapped SQL must not
// contain them.
const (
	baseBlockTag = "$sessionguard_base$"
	baseBodyTag  = "$sessionguard_base_sql$"
)

// adoptingBase wraps migration 022 in the decision Migrate makes in Go
// (adoptSeed): when the database has 022's sessions table, it is kept, rows
// and all, and recorded as adopted (a function of 022's that is missing is
// created again, and nothing else of 022 runs); otherwise 022 runs as
// shipped. A sessions table that lacks 022's columns, or whose columns the
// library cannot work with, stops the migration (sessionsTableSQL). Its down
// drops 022's objects only when the up created them.
func adoptingBase(m Migration) (up, down string, err error) {
	for _, sql := range []string{m.SQL, m.Down} {
		if strings.Contains(sql, baseBlockTag) || strings.Contains(sql, baseBodyTag) {
			return "", "", fmt.Errorf("schema: %s uses the dollar-quote tags of its tool form", m.Name)
		}
	}
	restore, err := seedFunctionStatements(m)
	if err != nil {
		return "", "", err
	}
	// 022's functions are created once, after either branch, each when it
	// is missing: all of them on a new table, a dropped one on an adopted
	// table. The rest of 022 runs only on a new table.
	var restores strings.Builder
	for _, fn := range seedFunctions {
		fmt.Fprintf(&restores, "    IF to_regprocedure(%s) IS NULL THEN\n        EXECUTE %s\n%s\n%s;\n    END IF;\n",
			quoteLiteral(fn), baseBodyTag, restore[fn], baseBodyTag)
	}
	stmts, _, err := splitStatements(m.SQL)
	if err != nil {
		return "", "", fmt.Errorf("%w (in %s)", err, m.Name)
	}
	isFunction := make(map[string]bool, len(restore))
	for _, st := range restore {
		isFunction[st] = true
	}
	var rest []string
	for _, st := range stmts {
		if !isFunction[st] {
			rest = append(rest, st)
		}
	}
	up = fmt.Sprintf(`-- This form of %[2]s adopts what the database already
-- has. When it has the sessions table of that file (it ran the file by hand or
-- with another tool), the table stays as it is, rows and all, and is recorded
-- as adopted; of the file, only a function it lacks is created again. A table
-- named sessions that is not that one, or whose columns sessionguard cannot
-- work with, stops the migration. Without a sessions table the file runs.
DO %[3]s
DECLARE
    v_missing TEXT;
    v_wrong TEXT;
    v_adopted BOOLEAN;
    v_references TEXT;
    v_found TEXT;
BEGIN
    -- Adopted: the table was there, and stays when this is undone.
    v_adopted := to_regclass('sessions') IS NOT NULL;
    IF v_adopted THEN
        SELECT t.missing, t.wrong INTO v_missing, v_wrong FROM (
%[4]s
        ) AS t(missing, wrong);
        IF v_missing <> '' THEN
            RAISE EXCEPTION 'sessionguard: a table named sessions exists but is not the one of migration %[2]s: it lacks column(s) %%; rename the other table or point search_path elsewhere', v_missing;
        END IF;
        IF v_wrong <> '' THEN
            RAISE EXCEPTION 'sessionguard: the table named sessions is not the one of migration %[2]s: %%; change the column(s) to what that file creates, then migrate again', v_wrong;
        END IF;
        SELECT t.refs, t.found INTO v_references, v_found FROM (
%[12]s
        ) AS t(refs, found);
        IF v_references IS NOT NULL THEN
            RAISE EXCEPTION 'sessionguard: the sessions table the search path finds references %%, but the search path finds %%: it is another application''s; migrate with search_path set to the schema of %% alone, which makes that schema''s own sessions table', v_references, v_found, v_found;
        END IF;
        -- A CHECK on revoke_reason must allow the library's reasons.
%[13]s;
    ELSE
        IF to_regclass('users') IS NULL OR to_regclass('tenants') IS NULL THEN
            RAISE EXCEPTION 'sessionguard: %[2]s references users(id) and tenants(id): create both tables first';
        END IF;
        EXECUTE %[6]s
%[7]s%[6]s;
    END IF;
%[5]s    %[8]s;
    INSERT INTO %[9]s (version, name, checksum, adopted)
    VALUES (%[1]d, %[10]s, %[11]s, v_adopted)
    ON CONFLICT (version) DO NOTHING;
END
%[3]s;
`, m.Version, m.Name, baseBlockTag, sessionsTableSQL, restores.String(),
		baseBodyTag, strings.Join(rest, "\n\n")+"\n", ledgerDDL, migrationsTable,
		quoteLiteral(m.Name), quoteLiteral(m.Checksum()), otherApplicationSQL, reasonChecksBlock)

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
