package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one run of a program pgtemp starts: postgres or pgbouncer. It
// runs in the foreground (postgres directly, not through pg_ctl) so it is our
// child: we see it exit, and on Linux it dies with us.
type process struct {
	name string         // the program, for messages
	quit syscall.Signal // its immediate shutdown
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait has returned
	err  error         // cmd.Wait's result; read only after done
}

// launch says how to start one program and how to tell it is ready.
type launch struct {
	name    string // for messages: "postgres", "pgbouncer"
	bin     string
	args    []string
	dir     string     // its working directory, the private directory
	logPath string     // stdout and stderr are appended here
	user    serverUser // who runs it
	quit    syscall.Signal
	// ready succeeds once the program serves. A real connection is the only
	// proof it is usable.
	ready func(context.Context) error
}

// start runs the program and waits until it is ready, it exits, or ctx ends.
// On failure the program is gone and the error holds the end of its log.
func (l launch) start(ctx context.Context) (*process, error) {
	logFile, err := os.OpenFile(l.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %s log: %w", l.name, err)
	}
	cmd := exec.Command(l.bin, l.args...)
	cmd.Dir = l.dir
	cmd.Env = childEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = l.user.attr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("pgtemp: start %s: %w", l.name, err)
	}
	p := &process{name: l.name, quit: l.quit, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	if err := p.waitReady(ctx, l.ready); err != nil {
		p.kill()
		return nil, fmt.Errorf("%w\n%s log (%s):\n%s", err, l.name, l.logPath, logTail(l.logPath))
	}
	return p, nil
}

// waitReady polls ready until it succeeds, the program exits, or ctx ends.
func (p *process) waitReady(ctx context.Context, ready func(context.Context) error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("pgtemp: %s exited during startup: %v", p.name, p.err)
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: waiting for %s: %w (last attempt: %v)", p.name, ctx.Err(), lastErr)
		case <-tick.C:
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr = ready(attempt)
		cancel()
		if lastErr == nil {
			return nil
		}
	}
}

// stop asks for a fast shutdown (SIGINT) and waits for it; if ctx ends
// first it shuts the program down immediately.
func (p *process) stop(ctx context.Context) error {
	select {
	case <-p.done:
		return nil // already gone (it crashed or was killed)
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.kill()
		return fmt.Errorf("pgtemp: stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("pgtemp: stop %s: %w", p.name, ctx.Err())
	}
}

// kill shuts the program down immediately with its quit signal (postgres's
// SIGQUIT lets the postmaster take its backends with it); SIGKILL follows if
// that does not work in time.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(p.quit)
	select {
	case <-p.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// logTail is the end of a log, for startup errors.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return tail(b, 20)
}
