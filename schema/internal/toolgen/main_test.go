package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckedInTreesAreCurrent fails while a folder of schema/ differs, byte
// for byte or by a file too many or too few, from what go generate ./schema
// would write: run it and commit the result.
func TestCheckedInTreesAreCurrent(t *testing.T) {
	for _, tr := range trees {
		t.Run(tr.dir, func(t *testing.T) {
			want, err := tr.render()
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("..", "..", tr.dir)
			onDisk := os.DirFS(dir)
			names := map[string]bool{}
			for _, fsys := range []fs.FS{want, onDisk} {
				entries, err := fs.ReadDir(fsys, ".")
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					names[e.Name()] = true
				}
			}
			if len(names) == 0 {
				t.Fatalf("no files rendered or checked in for %s", tr.dir)
			}
			for name := range names {
				w, errW := fs.ReadFile(want, name)
				d, errD := fs.ReadFile(onDisk, name)
				switch {
				case errW != nil:
					t.Errorf("%s/%s is checked in but no longer generated: go generate ./schema", tr.dir, name)
				case errD != nil:
					t.Errorf("%s/%s is generated but not checked in: go generate ./schema", tr.dir, name)
				case !bytes.Equal(w, d):
					t.Errorf("%s/%s differs from what go generate ./schema writes", tr.dir, name)
				}
			}
		})
	}
}

// TestWrite writes the trees into a fresh folder and finds them current
// there, so the writer and the comparison agree.
func TestWrite(t *testing.T) {
	root := t.TempDir()
	if err := write(root); err != nil {
		t.Fatal(err)
	}
	for _, tr := range trees {
		want, err := tr.render()
		if err != nil {
			t.Fatal(err)
		}
		err = fs.WalkDir(want, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			w, _ := fs.ReadFile(want, path)
			got, err := os.ReadFile(filepath.Join(root, tr.dir, path))
			if err != nil || !bytes.Equal(got, w) {
				t.Errorf("write: %s/%s not as rendered (%v)", tr.dir, path, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A stale file from an older layout is removed.
	stale := filepath.Join(root, "goose", "00099_old.sql")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := write(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("write kept a stale file: %v", err)
	}
}
