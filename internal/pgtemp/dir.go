package pgtemp

import (
	"fmt"
	"os"
	"path/filepath"
)

// socketName is the file PostgreSQL creates in unix_socket_directories for
// port 5432; its full path must fit in sun_path (107 bytes plus NUL on Linux).
const (
	socketName    = ".s.PGSQL.5432"
	maxSocketPath = 107
)

// newPrivateDir makes a private directory owned by the user that runs
// the programs: PostgreSQL and PgBouncer both refuse to run as root.
func newPrivateDir() (serverUser, string, error) {
	u, err := lookupServerUser()
	if err != nil {
		return serverUser{}, "", err
	}
	dir, err := makeDir(u)
	return u, dir, err
}

// makeDir creates the server's private directory. It prefers os.TempDir but
// falls back to /tmp when that path is too long for a unix socket or, when
// the server runs as another user, not reachable by that user.
func makeDir(u serverUser) (string, error) {
	base := os.TempDir()
	if len(base)+len("/pgtemp-0123456789/")+len(socketName) > maxSocketPath ||
		(u.isOther() && !othersCanTraverse(base)) {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "pgtemp-")
	if err != nil {
		return "", fmt.Errorf("pgtemp: temp dir: %w", err)
	}
	if n := len(filepath.Join(dir, socketName)); n > maxSocketPath {
		os.Remove(dir)
		return "", fmt.Errorf("pgtemp: socket path %s would be %d bytes, over the %d-byte limit; set TMPDIR to a shorter path", dir, n, maxSocketPath)
	}
	if err := u.chown(dir); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("pgtemp: chown %s: %w", dir, err)
	}
	return dir, nil
}

// othersCanTraverse reports whether every directory from / down to dir has
// the search bit for others, so a different user can reach files below it.
func othersCanTraverse(dir string) bool {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}
