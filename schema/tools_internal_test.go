package schema

import (
	"io/fs"
	"math"
	"strings"
	"testing"
)

func TestToolFormsNumbering(t *testing.T) {
	tests := []struct {
		name  string
		form  func(int64) (fs.FS, error)
		first int64
		files []string // the first and the last file
		err   bool
	}{
		{"goose", Goose, 41, []string{"00041_add_session_management.sql", "00057_sessionguard_seed_ends_in_hash_order.sql"}, false},
		{"goose timestamps", Goose, 20260101120000, []string{"20260101120000_add_session_management.sql", "20260101120016_sessionguard_seed_ends_in_hash_order.sql"}, false},
		{"golang-migrate", GolangMigrate, 7, []string{"00007_add_session_management.down.sql", "00023_sessionguard_seed_ends_in_hash_order.up.sql"}, false},
		{"tern", Tern, 1, []string{"001_add_session_management.sql", "017_sessionguard_seed_ends_in_hash_order.sql"}, false},
		{"zero", Goose, 0, nil, true},
		{"negative", GolangMigrate, -3, nil, true},
		{"past int64", Goose, math.MaxInt64 - 1, nil, true},
		{"past tern's int32", Tern, math.MaxInt32, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys, err := tt.form(tt.first)
			if tt.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			entries, err := fs.ReadDir(fsys, ".")
			if err != nil {
				t.Fatal(err)
			}
			perMigration := len(entries) / len(migrations)
			if len(entries) == 0 || len(entries)%len(migrations) != 0 || perMigration > 2 {
				t.Fatalf("%d files for %d migrations", len(entries), len(migrations))
			}
			if first, last := entries[0].Name(), entries[len(entries)-1].Name(); first != tt.files[0] || last != tt.files[1] {
				t.Fatalf("files %s … %s, want %s … %s", first, last, tt.files[0], tt.files[1])
			}
		})
	}
}

// A migration marked to run outside a transaction (none is yet) keeps that
// mark in every tool's own words.
func TestToolFormsNoTransaction(t *testing.T) {
	m := Migration{Version: 27, Name: "027_concurrently.sql",
		SQL:  noTransaction + "\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON sessions (id);\n",
		Down: "DROP INDEX CONCURRENTLY IF EXISTS i;\n"}
	up, down, err := recorded(m)
	if err != nil {
		t.Fatal(err)
	}
	goose, err := gooseForm(m, 3, up, down)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(goose[0].body, "\n-- +goose NO TRANSACTION\n") {
		t.Errorf("goose form lacks NO TRANSACTION:\n%s", goose[0].body)
	}
	tern, err := ternForm(m, 3, up, down)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(tern[0].body, "\n"+ternNoTransaction+"\n"); n != 2 {
		t.Errorf("tern form has disable-tx %d times, want for up and down:\n%s", n, tern[0].body)
	}
}

// What a tool would read as its own markup is refused, not passed through.
func TestToolFormsRefuseToolMarkup(t *testing.T) {
	for _, tt := range []struct {
		name string
		form toolForm
		sql  string
	}{
		{"goose annotation", gooseForm, "-- +goose Down\nSELECT 1;\n"},
		{"tern template", ternForm, "SELECT '{{ .x }}';\n"},
		{"tern separator", ternForm, "SELECT 1;\n" + ternSeparator + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := Migration{Version: 27, Name: "027_x.sql", SQL: tt.sql, Down: "SELECT 1;\n"}
			up, down, err := recorded(m)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tt.form(m, 1, up, down); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
