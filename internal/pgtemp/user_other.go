//go:build !unix

package pgtemp

import "syscall"

// serverUser is who runs initdb and postgres; off unix that is always the caller.
type serverUser struct{}

func lookupServerUser() (serverUser, error)   { return serverUser{}, nil }
func (serverUser) isOther() bool              { return false }
func (serverUser) chown(string) error         { return nil }
func (serverUser) attr() *syscall.SysProcAttr { return nil }
