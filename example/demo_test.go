package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoAccountsStayInDemoGo: the demo accounts (demoUsers, demoTenants)
// are read only in demo.go, as README.md and demo.go say ("the rest is
// wiring to copy"): a file that a team copies must not show or depend on
// them.
func TestDemoAccountsStayInDemoGo(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if name == "demo.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && (id.Name == "demoUsers" || id.Name == "demoTenants") {
				t.Errorf("%s uses %s: the demo accounts belong in demo.go", fset.Position(id.Pos()), id.Name)
			}
			return true
		})
	}
}
