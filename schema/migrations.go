package schema

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var files embed.FS

// Migration is one embedded SQL file.
type Migration struct {
	Version int    // the leading number of the file name, e.g. 22
	Name    string // the file name, e.g. "022_add_session_management.sql"
	SQL     string
}

// Checksum is the hex SHA-256 of the migration's SQL, recorded when it is applied.
func (m Migration) Checksum() string {
	sum := sha256.Sum256([]byte(m.SQL))
	return hex.EncodeToString(sum[:])
}

// noTransaction marks a migration that must run outside a transaction block
// (for instance CREATE INDEX CONCURRENTLY on a large table).
const noTransaction = "-- sessionguard:no-transaction"

func (m Migration) inTransaction() bool {
	return !strings.HasPrefix(strings.TrimSpace(m.SQL), noTransaction)
}

// FS is the migrations folder as an fs.FS, for migration tools that read one.
func FS() fs.FS {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

var migrations = mustLoad()

// Migrations lists the embedded migrations in version order.
func Migrations() []Migration {
	return append([]Migration(nil), migrations...)
}

func mustLoad() []Migration {
	ms, err := load(files, "migrations")
	if err != nil {
		panic(err) // a malformed file name is a build-time mistake
	}
	return ms
}

func load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("schema: read migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		prefix, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("schema: migration %q: name must start with a version number and an underscore", name)
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("schema: migrations %q and %q share version %d", other, name, version)
		}
		seen[version] = name
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("schema: read %q: %w", name, err)
		}
		ms = append(ms, Migration{Version: version, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
