package pgtemp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// ErrNoPostgres means no PostgreSQL server binaries were found. Its message
// says how to fix that, because the person reading it is usually someone
// running the tests for the first time.
var ErrNoPostgres = errors.New("pgtemp: no PostgreSQL server binaries found: " +
	"install PostgreSQL server binaries (Debian: apt-get install postgresql) or set DATABASE_URL")

// Options configures Start. The zero value is ready to use.
type Options struct {
	// BinDir holds initdb and postgres. Default: $PG_BINDIR, else the newest
	// /usr/lib/postgresql/*/bin (Debian and Ubuntu packages), else the
	// directory of the initdb found on $PATH.
	BinDir string

	// MaxConnections is the server's max_connections. Default: 200, enough
	// for many parallel tests each holding a small pool.
	MaxConnections int

	// Settings are extra postgresql.conf settings, name to value, written
	// after the defaults (so they win), e.g. "shared_preload_libraries":
	// "'pg_stat_statements'". Values are written as given: quote strings.
	Settings map[string]string
}

// defaultMaxConnections is Options.MaxConnections when it is zero.
const defaultMaxConnections = 200

// withDefaults returns opts with every zero field filled in, or an error
// wrapping ErrNoPostgres when no usable binaries are found.
func (opts Options) withDefaults() (Options, error) {
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = defaultMaxConnections
	}
	dir, err := findBinDir(opts.BinDir)
	if err != nil {
		return opts, err
	}
	opts.BinDir = dir
	return opts, nil
}

// findBinDir picks the directory holding initdb and postgres. An explicit
// choice (the argument, then $PG_BINDIR) is never silently replaced by a
// guess: if it is wrong, that is an error.
func findBinDir(explicit string) (string, error) {
	for _, d := range []struct{ dir, from string }{{explicit, "Options.BinDir"}, {os.Getenv("PG_BINDIR"), "PG_BINDIR"}} {
		if d.dir == "" {
			continue
		}
		if !hasServerBinaries(d.dir) {
			return "", fmt.Errorf("%w (%s=%q has no initdb and postgres)", ErrNoPostgres, d.from, d.dir)
		}
		return d.dir, nil
	}
	if dir := newestDebianBinDir(); dir != "" {
		return dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(p); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

// newestDebianBinDir returns the highest-numbered /usr/lib/postgresql/N/bin
// that holds server binaries, or "" if there is none. Debian installs each
// major version side by side there and keeps initdb off $PATH.
func newestDebianBinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
	for _, dir := range matches {
		if hasServerBinaries(dir) {
			return dir
		}
	}
	return ""
}

// majorOf extracts N from /usr/lib/postgresql/N/bin; non-numbers sort last.
func majorOf(binDir string) float64 {
	n, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return n
}

// hasServerBinaries reports whether dir holds executable initdb and postgres.
func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
