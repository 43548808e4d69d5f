//go:build unix && !linux

package pgtemp

import "syscall"

// procAttr runs a child as cred (nil: as the caller). Only Linux can tie the
// child's life to ours; elsewhere a crashed test run may leave a server.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
