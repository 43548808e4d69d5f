package main

import (
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/sessionguard/sessionguard/schema"
)

// upSuffix ends the name of a golang-migrate up file.
const upSuffix = ".up.sql"

// printMigrations writes the SQL script of the migrations whose version is
// above after, in version order, each in its own transaction. After the
// latest version it writes a script that applies nothing: the database is up
// to date, which a DBA's script must not take for a failure; after a version
// this build does not have it fails.
//
// The script is made of the up files of the golang-migrate form
// (schema.GolangMigrate, with the library's own numbers): plain SQL whose
// every migration records itself in the ledger schema.Migrate reads and whose
// migration 022 adopts a sessions table the database already has. A DBA's
// psql then does what the tools do, from the same source, and stops at the
// first error (the script sets ON_ERROR_STOP, a psql variable).
func printMigrations(w io.Writer, after int64) error {
	fsys, err := schema.GolangMigrate(schema.BaseVersion)
	if err != nil {
		return err
	}
	ups, err := upFiles(fsys)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("-- sessionguard's schema migrations, written by `sessionguard migrate --print`.\n")
	b.WriteString("-- Apply with psql -v ON_ERROR_STOP=1 -f FILE. Each migration commits together with\n")
	b.WriteString("-- its row in sessionguard_schema_migrations, so schema.Migrate finds it applied.\n")
	// psql goes on after an error by default: the migrations after a failed
	// one would run on a schema without it, and be recorded.
	b.WriteString("-- The first error stops the script, however psql was started.\n\\set ON_ERROR_STOP on\n")
	n := 0
	for _, f := range ups {
		if int64(f.version) <= after {
			continue
		}
		n++
		body, err := fs.ReadFile(fsys, f.name)
		if err != nil {
			return fmt.Errorf("read %s: %w", f.name, err)
		}
		fmt.Fprintf(&b, "\n-- ===== migration %d =====\nBEGIN;\n%s\nCOMMIT;\n", f.version, strings.TrimRight(string(body), "\n"))
	}
	if last := ups[len(ups)-1].version; int64(last) < after {
		return fmt.Errorf("no migration has a version above %d: the latest migration of this build is %d "+
			"(a database that records a later one was migrated by a newer sessionguard)", after, last)
	}
	if n == 0 {
		fmt.Fprintf(&b, "\n-- Nothing to apply: no migration has a version above %d.\n", after)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

type upFile struct {
	version int
	name    string
}

// upFiles lists the up files of a golang-migrate form (N_name.up.sql) in
// version order.
func upFiles(fsys fs.FS) ([]upFile, error) {
	names, err := fs.Glob(fsys, "*"+upSuffix)
	if err != nil {
		return nil, err
	}
	ups := make([]upFile, 0, len(names))
	for _, name := range names {
		prefix, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil {
			return nil, fmt.Errorf("golang-migrate file %q has no version", name)
		}
		ups = append(ups, upFile{version: v, name: name})
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].version < ups[j].version })
	return ups, nil
}
