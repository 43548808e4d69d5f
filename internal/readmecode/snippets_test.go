package readmecode_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// snippetImports are the packages the snippets name, by the name they use.
// "pgx" is jackc/pgx, except in a snippet that also uses golang-migrate,
// where it is that tool's pgx/v5 database driver (README's golang-migrate
// snippet).
var snippetImports = map[string]string{
	"context":      "context",
	"http":         "net/http",
	"log":          "log",
	"os":           "os",
	"time":         "time",
	"scs":          "github.com/alexedwards/scs/v2",
	"goose":        "github.com/pressly/goose/v3",
	"migrate":      "github.com/golang-migrate/migrate/v4",
	"iofs":         "github.com/golang-migrate/migrate/v4/source/iofs",
	"pgx":          "github.com/jackc/pgx/v5",
	"pgconn":       "github.com/jackc/pgx/v5/pgconn",
	"ctxwatch":     "github.com/jackc/pgx/v5/pgconn/ctxwatch",
	"pgxpool":      "github.com/jackc/pgx/v5/pgxpool",
	"stdlib":       "github.com/jackc/pgx/v5/stdlib",
	"sessionguard": "github.com/sessionguard/sessionguard",
	"middleware":   "github.com/sessionguard/sessionguard/middleware",
	"pgstore":      "github.com/sessionguard/sessionguard/pgstore",
	"schema":       "github.com/sessionguard/sessionguard/schema",
}

// given declares what the snippets take as given, with the types the prose
// around them gives: a snippet that declares one of these names (with :=)
// shadows it. It is compiled with the snippets, through the overlay.
const given = `package readmecode

import (
	"context"
	"database/sql"
	"io/fs"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionguard/sessionguard/middleware"
	"github.com/sessionguard/sessionguard/pgstore"
)

var (
	ctx                      context.Context
	w                        http.ResponseWriter
	r                        *http.Request
	mux                      *http.ServeMux
	addr                     string
	token                    string
	id, userID, tenantID     int64
	pool, primary, replica   *pgxpool.Pool
	cfg                      *pgxpool.Config
	db                       *sql.DB
	fsys                     fs.FS
	store                    *pgstore.Store
	guard                    *middleware.Guard
	sm                       *scs.SessionManager
	mp                       metric.MeterProvider
	tp                       trace.TracerProvider
	tenantFromPath, tenantOf func(*http.Request) (int64, error)
	checkPassword            func(*http.Request) (userID int64, ok bool)
	signInRedirect           func(http.ResponseWriter, *http.Request, error)
	dashboard, timeLeft      http.Handler
	logout, passwordForm     http.Handler
	changePassword, account  http.Handler
	me, statusHandler        http.Handler
)
`

const migratePgx = "github.com/golang-migrate/migrate/v4/database/pgx/v5"

// snippet is one ```go block of a document.
type snippet struct {
	doc  string // path from the module's root
	line int    // of the block's first line of code
	code string
}

// TestDocSnippetsCompile compiles every Go snippet of README.md, SECURITY.md
// and docs/*.md, as written, against today's API: each becomes the body of a
// function of this package (given declares what they take as given; "…"
// stands for code of yours and is dropped), and the go command builds them
// through an overlay, so nothing is written to the source tree. Compiler
// errors name the document's line.
func TestDocSnippetsCompile(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append([]string{filepath.Join(root, "README.md"), filepath.Join(root, "SECURITY.md")}, docs...)
	var snippets []snippet
	for _, doc := range docs {
		s, err := goSnippets(root, doc)
		if err != nil {
			t.Fatal(err)
		}
		snippets = append(snippets, s...)
	}
	if n := countFrom(snippets, "README.md"); n < 10 {
		t.Fatalf("%d Go snippets found in README.md; the extraction is broken", n)
	}

	dir := t.TempDir()
	overlay := map[string]string{}
	for i, s := range snippets {
		src, err := snippetFile(root, i, s)
		if err != nil {
			t.Errorf("%s:%d: %v", s.doc, s.line, err)
			continue
		}
		backing := filepath.Join(dir, fmt.Sprintf("snippet%d.go", i))
		if err := os.WriteFile(backing, src, 0o600); err != nil {
			t.Fatal(err)
		}
		overlay[filepath.Join(root, "internal", "readmecode", fmt.Sprintf("zz_snippet%d.go", i))] = backing
	}
	if t.Failed() {
		return
	}
	givenPath := filepath.Join(dir, "given.go")
	if err := os.WriteFile(givenPath, []byte(given), 0o600); err != nil {
		t.Fatal(err)
	}
	overlay[filepath.Join(root, "internal", "readmecode", "zz_given.go")] = givenPath
	ovl, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	ovlPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovlPath, ovl, 0o600); err != nil {
		t.Fatal(err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to compile the snippets: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), goCmd, "build", "-overlay", ovlPath, "./internal/readmecode")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the documents' Go snippets do not compile (%v):\n%s", err, out)
	}
	t.Logf("%d snippets compiled", len(snippets))
}

func countFrom(snippets []snippet, doc string) int {
	n := 0
	for _, s := range snippets {
		if s.doc == doc {
			n++
		}
	}
	return n
}

// goSnippets returns the ```go blocks of the Markdown file path.
func goSnippets(root, path string) ([]snippet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return nil, err
	}
	var (
		out  []snippet
		cur  *snippet
		code strings.Builder
		line int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(text) == "```go":
			cur = &snippet{doc: filepath.ToSlash(rel), line: line + 1}
			code.Reset()
		case cur != nil && strings.TrimSpace(text) == "```":
			cur.code = code.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			code.WriteString(text)
			code.WriteByte('\n')
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unterminated ```go block", rel, cur.line)
	}
	return out, sc.Err()
}

// snippetFile is the Go file that holds snippet s as the body of function
// snippet<i>: its imports are the packages it names, and every variable it
// declares at its top level is used once more at its end, as a reader's code
// would go on to use it.
func snippetFile(root string, i int, s snippet) ([]byte, error) {
	code := strings.ReplaceAll(s.code, "…", "")
	// The line directive makes compiler errors name the document's line.
	body := fmt.Sprintf("func snippet%d() {\n//line %s:%d\n%s}\n", i, filepath.Join(root, s.doc), s.line, code)
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", "package readmecode\n\n"+body, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("not Go statements: %v", err)
	}
	fn := file.Decls[0].(*ast.FuncDecl)

	var declared []string
	for _, st := range fn.Body.List {
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			for _, lhs := range as.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && id.Name != "_" && !slices.Contains(declared, id.Name) {
					declared = append(declared, id.Name)
				}
			}
		}
	}
	used := map[string]bool{}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && snippetImports[id.Name] != "" && !slices.Contains(declared, id.Name) {
				used[id.Name] = true
			}
		}
		return true
	})

	var src bytes.Buffer
	src.WriteString("package readmecode\n\nimport (\n")
	for name := range used {
		path := snippetImports[name]
		if name == "pgx" && used["migrate"] {
			path = migratePgx
		}
		fmt.Fprintf(&src, "\t%s %q\n", name, path)
	}
	src.WriteString(")\n\n")
	src.WriteString(strings.TrimSuffix(body, "}\n"))
	for _, name := range declared {
		fmt.Fprintf(&src, "\t_ = %s\n", name)
	}
	src.WriteString("}\n")
	return src.Bytes(), nil
}
