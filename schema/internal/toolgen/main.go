// Command toolgen writes the migrations in the forms goose, golang-migrate and
// tern read into the folders schema/goose, schema/golang-migrate and
// schema/tern, for teams that run those tools from the command line. Run it
// with go generate ./schema after changing a file in schema/migrations; the
// package's test fails while the folders differ from what it would write.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sessionguard/sessionguard/schema"
)

// tree is one checked-in folder and how it is rendered.
type tree struct {
	dir    string // under schema/
	render func() (fs.FS, error)
}

// trees number goose's and golang-migrate's files as the library does
// (022…), to run as a set of their own with their own version table; tern
// numbers every set from 1.
var trees = []tree{
	{"goose", func() (fs.FS, error) { return schema.Goose(schema.BaseVersion) }},
	{"golang-migrate", func() (fs.FS, error) { return schema.GolangMigrate(schema.BaseVersion) }},
	{"tern", func() (fs.FS, error) { return schema.Tern(1) }},
}

func main() {
	if err := write("."); err != nil {
		fmt.Fprintln(os.Stderr, "toolgen:", err)
		os.Exit(1)
	}
}

// write replaces each tree's folder under root (the schema directory) with
// what it renders.
func write(root string) error {
	for _, t := range trees {
		fsys, err := t.render()
		if err != nil {
			return err
		}
		dir := filepath.Join(root, t.dir)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			body, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, filepath.FromSlash(path)), body, 0o644)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", t.dir, err)
		}
	}
	return nil
}
