package pgtemp

import "syscall"

// procAttr runs a child as cred (nil: as the caller). Pdeathsig makes the
// kernel send SIGQUIT (PostgreSQL's immediate shutdown) to the server if the
// test binary dies without calling Close, so crashed or timed-out test runs
// do not leave servers behind. The signal fires when the OS thread that
// started the child exits; the Go runtime only retires threads that a
// goroutine locked and never unlocked, which this package does not do.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
