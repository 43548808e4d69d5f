package schema

import (
	"fmt"
	"io/fs"
	"math"
	"strings"
	"testing/fstest"
)

//go:generate go run ./internal/toolgen

// Goose returns the migrations as SQL migrations of github.com/pressly/goose/v3,
// numbered from first: migration 022 becomes version first, 023 first+1, and
// so on. Pass the number after your latest migration to run them in your own
// sequence, or BaseVersion to run them as a set of their own (with their own
// goose version table), as the files in schema/goose are numbered.
//
// Every statement is marked as one (StatementBegin/End), so plpgsql bodies
// reach PostgreSQL whole. Migration 022 adopts a sessions table that the
// database already has (see the package documentation); every form records
// itself in the ledger that Migrate reads, so Migrate later applies nothing.
func Goose(first int64) (fs.FS, error) {
	return render(gooseForm, first, math.MaxInt64)
}

// GolangMigrate returns the migrations as github.com/golang-migrate/migrate/v4
// source files (N_name.up.sql and N_name.down.sql), numbered from first as
// Goose numbers them; schema/golang-migrate holds them numbered from
// BaseVersion. Each file runs as one multi-statement query, so leave the
// driver's multi-statement mode off.
func GolangMigrate(first int64) (fs.FS, error) {
	return render(golangMigrateForm, first, math.MaxInt64)
}

// Tern returns the migrations as github.com/jackc/tern/v2 migrations, numbered
// from first. tern numbers every migration set from 1 and accepts no gap: pass
// 1 to run them as a set of their own (with their own version table), as the
// files in schema/tern are numbered, or the number after your latest to put
// them in the folder of your own migrations.
func Tern(first int64) (fs.FS, error) {
	return render(ternForm, first, math.MaxInt32)
}

// toolFile is one file of a tool's form of a migration.
type toolFile struct{ name, body string }

// toolForm lays out one migration for a tool, as version v.
type toolForm func(m Migration, v int64, up, down string) ([]toolFile, error)

func render(form toolForm, first, maxVersion int64) (fs.FS, error) {
	if first < 1 || first > maxVersion-int64(len(migrations))+1 {
		return nil, fmt.Errorf("schema: first version %d out of range 1..%d", first, maxVersion-int64(len(migrations))+1)
	}
	fsys := fstest.MapFS{}
	for i, m := range migrations {
		up, down, err := recorded(m)
		if err != nil {
			return nil, err
		}
		files, err := form(m, first+int64(i), up, down)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			fsys[f.name] = &fstest.MapFile{Data: []byte(f.body), Mode: 0o444}
		}
	}
	return fsys, nil
}

func gooseForm(m Migration, v int64, up, down string) ([]toolFile, error) {
	var b strings.Builder
	b.WriteString(header(m, "goose", "Goose", v))
	if !m.inTransaction() {
		b.WriteString("-- +goose NO TRANSACTION\n")
	}
	for _, part := range []struct{ annotation, sql string }{{"Up", up}, {"Down", down}} {
		if strings.Contains(part.sql, "+goose") {
			return nil, fmt.Errorf("schema: %s: goose would read a comment with +goose as its annotation", m.Name)
		}
		stmts, trailing, err := splitStatements(part.sql)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, m.Name)
		}
		fmt.Fprintf(&b, "\n-- +goose %s\n", part.annotation)
		for _, s := range stmts {
			fmt.Fprintf(&b, "-- +goose StatementBegin\n%s\n-- +goose StatementEnd\n", s)
		}
		if trailing != "" {
			b.WriteString(trailing + "\n")
		}
	}
	return []toolFile{{fmt.Sprintf("%05d_%s.sql", v, m.stem()), b.String()}}, nil
}

func golangMigrateForm(m Migration, v int64, up, down string) ([]toolFile, error) {
	name := fmt.Sprintf("%05d_%s", v, m.stem())
	return []toolFile{
		{name + ".up.sql", header(m, "golang-migrate", "GolangMigrate", v) + "\n" + up},
		{name + ".down.sql", header(m, "golang-migrate", "GolangMigrate", v) + "\n" + down},
	}, nil
}

// ternSeparator and ternNoTransaction are tern's markers.
const (
	ternSeparator     = "---- create above / drop below ----"
	ternNoTransaction = "---- tern: disable-tx ----"
)

func ternForm(m Migration, v int64, up, down string) ([]toolFile, error) {
	// tern runs every migration through text/template.
	if strings.Contains(up+down, "{{") || strings.Contains(up+down, ternSeparator) {
		return nil, fmt.Errorf("schema: %s: tern would read {{ or its separator as its own", m.Name)
	}
	noTx := ""
	if !m.inTransaction() {
		noTx = ternNoTransaction + "\n"
	}
	body := header(m, "tern", "Tern", v) + noTx + "\n" + up + "\n" + ternSeparator + "\n" + noTx + "\n" + down
	return []toolFile{{fmt.Sprintf("%03d_%s.sql", v, m.stem()), body}}, nil
}

// header says where a generated file comes from; fn is the function that
// renders it with any numbering.
func header(m Migration, tool, fn string, v int64) string {
	return fmt.Sprintf(`-- sessionguard's %s as %s version %d.
-- Generated from schema/migrations by go generate ./schema (the files in the
-- folder schema/%s) or by schema.%s (any numbering): do not edit.
`, m.Name, tool, v, tool, fn)
}

// stem is the name without its version and extension, e.g. "sessionguard_core".
func (m Migration) stem() string {
	_, rest, _ := strings.Cut(m.Name, "_")
	return strings.TrimSuffix(rest, ".sql")
}
