package schema_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionguard/sessionguard/internal/pgtest"
)

// catalogQueries describe the public schema as PostgreSQL's catalogs see it,
// one line per object, leaving out tables whose names match any LIKE pattern
// in $1 (a migration tool's own bookkeeping) and what belongs to them.
var catalogQueries = []string{
	// tables, indexes, sequences, views, with their storage options
	`SELECT format('relation %s kind=%s options=%s', c.relname, c.relkind, c.reloptions)
	 FROM pg_class c
	 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'i', 'S', 'v', 'm')
	   AND NOT c.relname LIKE ANY ($1)`,
	// columns, with types, nullability and defaults
	`SELECT format('column %s.%s %s notnull=%s default=%s identity=%s generated=%s',
	        c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	        pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated)
	 FROM pg_attribute a
	 JOIN pg_class c ON c.oid = a.attrelid
	 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
	   AND a.attnum > 0 AND NOT a.attisdropped AND NOT c.relname LIKE ANY ($1)`,
	// index definitions
	`SELECT format('index %s', indexdef) FROM pg_indexes
	 WHERE schemaname = 'public' AND NOT tablename LIKE ANY ($1)`,
	// constraints: keys, foreign keys, checks
	`SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
	 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
	 WHERE k.connamespace = 'public'::regnamespace AND NOT c.relname LIKE ANY ($1)`,
	// functions, whole: signature, result, language, options and body
	`SELECT format('function %s', pg_get_functiondef(p.oid))
	 FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'
	   AND $1::text[] IS NOT NULL`,
	// triggers, with their events, WHEN clauses and functions
	`SELECT format('trigger %s', pg_get_triggerdef(t.oid))
	 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal AND NOT c.relname LIKE ANY ($1)`,
}

// catalog is the sorted description of pool's public schema, minus the
// tables matching the LIKE patterns in ignore.
func catalog(t *testing.T, pool *pgxpool.Pool, ignore ...string) []string {
	t.Helper()
	if ignore == nil {
		ignore = []string{}
	}
	var lines []string
	for _, q := range catalogQueries {
		rows, err := pool.Query(context.Background(), q, ignore)
		if err != nil {
			t.Fatalf("catalog: %v", err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("catalog: %v", err)
		}
		lines = append(lines, got...)
	}
	slices.Sort(lines)
	return lines
}

// sameCatalog fails t with the lines only one side has.
func sameCatalog(t *testing.T, what string, got, want []string) {
	t.Helper()
	var onlyGot, onlyWant []string
	for _, l := range got {
		if !slices.Contains(want, l) {
			onlyGot = append(onlyGot, l)
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			onlyWant = append(onlyWant, l)
		}
	}
	if len(onlyGot)+len(onlyWant) > 0 || len(got) != len(want) {
		t.Errorf("%s: the schema differs (%d vs %d objects)\nonly here:\n%s\nonly in the reference:\n%s",
			what, len(got), len(want), clip(onlyGot), clip(onlyWant))
	}
}

func clip(lines []string) string {
	out := ""
	for i, l := range lines {
		if i == 5 {
			return out + "  …\n"
		}
		if len(l) > 400 {
			l = l[:400] + "…"
		}
		out += "  " + l + "\n"
	}
	return out
}

// TestCatalogSeesDifferences keeps the comparison honest: each kind of
// object it claims to compare, changed, makes the catalogs differ.
func TestCatalogSeesDifferences(t *testing.T) {
	t.Parallel()
	changes := []struct{ name, sql string }{
		{"table", "CREATE TABLE extra (id INTEGER)"},
		{"column type", "ALTER TABLE tenants ALTER COLUMN name TYPE VARCHAR(100)"},
		{"column default", "ALTER TABLE tenants ALTER COLUMN name SET DEFAULT 'x'"},
		{"index", "CREATE INDEX tenants_name_lower ON tenants (lower(name))"},
		{"constraint", "ALTER TABLE tenants ADD CONSTRAINT name_not_empty CHECK (name <> '')"},
		{"function body", `CREATE OR REPLACE FUNCTION update_session_activity(p_token_hash VARCHAR(64))
			RETURNS BOOLEAN AS $$ BEGIN RETURN false; END; $$ LANGUAGE plpgsql`},
		{"trigger", "CREATE TRIGGER again AFTER INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION sessionguard_notify_ended()"},
		{"storage option", "ALTER TABLE sessions SET (fillfactor = 90)"},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewPool(t)
			before := catalog(t, pool)
			if _, err := pool.Exec(context.Background(), c.sql); err != nil {
				t.Fatal(err)
			}
			if after := catalog(t, pool); slices.Equal(before, after) {
				t.Fatalf("the catalog did not change after %s", c.sql)
			}
		})
	}
}
