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

// Migration is one embedded SQL file and the file that undoes it.
type Migration struct {
	Version int    // the leading number of the file name, e.g. 22
	Name    string // the file name, e.g. "022_add_session_management.sql"
	SQL     string
	// Down undoes SQL: the file of the same name ending in .down.sql. Migrate
	// never runs it; the per-tool forms (Goose, GolangMigrate, Tern) do.
	Down string
}

// Checksum is the hex SHA-256 of the migration's SQL, recorded when it is
// applied and compared by Migrate (ErrChecksumMismatch). Line endings count
// as LF: a checkout that turned them into CRLF (git's core.autocrlf on
// Windows) embeds the same migrations, and must neither stop Migrate on a
// database migrated from another checkout nor record what stops theirs.
func (m Migration) Checksum() string {
	sum := sha256.Sum256([]byte(strings.ReplaceAll(m.SQL, "\r\n", "\n")))
	return hex.EncodeToString(sum[:])
}

// noTransaction marks a migration that must run outside a transaction block
// (for instance CREATE INDEX CONCURRENTLY on a large table).
const noTransaction = "-- sessionguard:no-transaction"

func (m Migration) inTransaction() bool {
	return !strings.HasPrefix(strings.TrimSpace(m.SQL), noTransaction)
}

// downSuffix ends the name of the file that undoes a migration, e.g.
// "023_sessionguard_core.down.sql" undoes "023_sessionguard_core.sql".
const downSuffix = ".down.sql"

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
	ups := map[int]*Migration{}
	downs := map[int]string{}
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
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("schema: read %q: %w", name, err)
		}
		if strings.HasSuffix(name, downSuffix) {
			if _, dup := downs[version]; dup {
				return nil, fmt.Errorf("schema: two down migrations share version %d", version)
			}
			downs[version] = string(body)
			continue
		}
		if other, dup := ups[version]; dup {
			return nil, fmt.Errorf("schema: migrations %q and %q share version %d", other.Name, name, version)
		}
		ups[version] = &Migration{Version: version, Name: name, SQL: string(body)}
	}
	for version := range downs {
		if ups[version] == nil {
			return nil, fmt.Errorf("schema: down migration %d undoes no migration", version)
		}
	}
	ms := make([]Migration, 0, len(ups))
	for version, m := range ups {
		down, ok := downs[version]
		if !ok {
			return nil, fmt.Errorf("schema: migration %q has no %s file", m.Name, downSuffix)
		}
		m.Down = down
		ms = append(ms, *m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
