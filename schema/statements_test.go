package schema

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name     string
		sql      string
		want     []string
		trailing string
		err      string
	}{
		{name: "two", sql: "SELECT 1;\nSELECT 2;\n", want: []string{"SELECT 1;", "SELECT 2;"}},
		{name: "leading comment stays", sql: "-- why; it matters\nSELECT 1;", want: []string{"-- why; it matters\nSELECT 1;"}},
		{name: "string", sql: "SELECT 'a;b''c;';", want: []string{"SELECT 'a;b''c;';"}},
		{name: "escape string", sql: `SELECT E'it\'s; here';`, want: []string{`SELECT E'it\'s; here';`}},
		{name: "plain string ends at backslash quote", sql: `SELECT 'a\';`, want: []string{`SELECT 'a\';`}},
		{name: "quoted identifier", sql: `SELECT 1 AS "x;y";`, want: []string{`SELECT 1 AS "x;y";`}},
		{name: "dollar body", sql: "DO $$ BEGIN PERFORM 1; END $$;", want: []string{"DO $$ BEGIN PERFORM 1; END $$;"}},
		{name: "tagged body holding $$", sql: "DO $a$ BEGIN EXECUTE $$x;$$; END $a$;\nSELECT 2;", want: []string{"DO $a$ BEGIN EXECUTE $$x;$$; END $a$;", "SELECT 2;"}},
		{name: "parameter is no quote", sql: "SELECT $1; SELECT a$b;", want: []string{"SELECT $1;", "SELECT a$b;"}},
		{name: "nested block comment", sql: "/* a /* b; */ c; */ SELECT 1;", want: []string{"/* a /* b; */ c; */ SELECT 1;"}},
		{name: "apostrophe in comment", sql: "-- scs's data; kept\nSELECT 1;", want: []string{"-- scs's data; kept\nSELECT 1;"}},
		{name: "trailing comments", sql: "SELECT 1;\n-- done\n", want: []string{"SELECT 1;"}, trailing: "-- done"},
		{name: "unterminated statement", sql: "SELECT 1;\nSELECT 2", err: "after the last semicolon"},
		{name: "unterminated string", sql: "SELECT 'a;", err: "unterminated '"},
		{name: "unterminated body", sql: "DO $x$ BEGIN;", err: "unterminated $x$"},
		{name: "unterminated comment", sql: "/* SELECT 1;", err: "unterminated /*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, trailing, err := splitStatements(tt.sql)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || trailing != tt.trailing {
				t.Fatalf("got %q trailing %q, want %q trailing %q", got, trailing, tt.want, tt.trailing)
			}
		})
	}
}

// Every embedded file splits, and its statements are the file, in order,
// without the whitespace between them.
func TestSplitStatementsKeepsTheMigrations(t *testing.T) {
	for _, m := range migrations {
		for _, sql := range []string{m.SQL, m.Down} {
			stmts, trailing, err := splitStatements(sql)
			if err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if got := squeeze(strings.Join(stmts, "") + trailing); got != squeeze(sql) {
				t.Errorf("%s: the statements are not the file", m.Name)
			}
		}
	}
}
