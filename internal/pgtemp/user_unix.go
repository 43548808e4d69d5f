//go:build unix

package pgtemp

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// serverUser is who runs initdb and postgres: the caller, or the OS user
// "postgres" when the caller is root, because PostgreSQL refuses root.
type serverUser struct {
	cred     *syscall.Credential // nil: the caller
	uid, gid int
}

// lookupServerUser decides who runs the server.
func lookupServerUser() (serverUser, error) {
	if os.Geteuid() != 0 {
		return serverUser{uid: -1, gid: -1}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return serverUser{}, fmt.Errorf("pgtemp: running as root needs an OS user \"postgres\" to run the server: %w", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return serverUser{}, fmt.Errorf("pgtemp: user postgres: uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return serverUser{}, fmt.Errorf("pgtemp: user postgres: gid %q: %w", u.Gid, err)
	}
	return serverUser{
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true},
		uid:  uid,
		gid:  gid,
	}, nil
}

// chown hands path to the server user; a no-op when that is the caller.
func (u serverUser) chown(path string) error {
	if u.cred == nil {
		return nil
	}
	return os.Chown(path, u.uid, u.gid)
}

// isOther reports whether the server runs as a user other than the caller.
func (u serverUser) isOther() bool { return u.cred != nil }

// attr is the SysProcAttr for a child run as u.
func (u serverUser) attr() *syscall.SysProcAttr { return procAttr(u.cred) }
