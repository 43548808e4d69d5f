package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// process is one run of the postgres binary. It runs postgres directly
// rather than through pg_ctl so the server is our child: we see it exit, and
// on Linux it dies with us.
type process struct {
	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed once cmd.Wait has returned
	err     error         // cmd.Wait's result; read only after done
}

// start runs postgres and waits until it accepts connections. The caller
// holds s.mu (or is Start, before s is shared).
func (s *Server) start(ctx context.Context) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtemp: server log: %w", err)
	}
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), "-D", s.dataDir)
	cmd.Dir = s.dir
	cmd.Env = childEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = s.user.attr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("pgtemp: start postgres: %w", err)
	}
	p := &process{cmd: cmd, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()

	if err := s.waitReady(ctx, p); err != nil {
		p.kill()
		return fmt.Errorf("%w\nserver log (%s):\n%s", err, s.logPath, s.logTail())
	}
	s.proc = p
	return nil
}

// waitReady polls until a connection succeeds, the server exits, or ctx ends.
// A real connection is the only proof the server is usable.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("pgtemp: postgres exited during startup: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: waiting for postgres: %w (last attempt: %v)", ctx.Err(), lastErr)
		case <-tick.C:
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgconn.Connect(attempt, s.ConnString("postgres"))
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
	}
}

// stop asks for a fast shutdown and waits for it; if ctx ends first it asks
// for an immediate shutdown, then kills.
func (p *process) stop(ctx context.Context) error {
	select {
	case <-p.done:
		return nil // already gone (it crashed or was killed)
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.kill()
		return fmt.Errorf("pgtemp: stop: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("pgtemp: stop: %w", ctx.Err())
	}
}

// kill shuts the server down immediately: SIGQUIT lets the postmaster take
// its backends with it; SIGKILL follows if that does not work in time.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// logTail is the end of the server log, for startup errors.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return tail(b, 20)
}
