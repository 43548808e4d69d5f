package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Server is a running (or stopped) throwaway PostgreSQL server. Its methods
// are safe for concurrent use.
type Server struct {
	dir     string // private directory: socket, data/, server.log
	dataDir string
	logPath string
	port    int
	binDir  string
	user    serverUser

	mu     sync.Mutex
	proc   *process // nil while stopped
	closed bool
}

// defaultPort is the port of every server. The socket directory is private,
// so the port only names the socket file and never clashes.
const defaultPort = 5432

// startTimeout bounds initdb plus startup when the caller's ctx has no deadline.
const startTimeout = 2 * time.Minute

// boundStart is ctx, bounded by startTimeout if it has no deadline.
func boundStart(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, startTimeout)
}

// Start creates a fresh cluster in a new temporary directory and starts a
// server on it. It returns an error wrapping ErrNoPostgres when no server
// binaries can be found. The caller must Close the server.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := boundStart(ctx)
	defer cancel()
	u, dir, err := newPrivateDir()
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "server.log"),
		port:    defaultPort,
		binDir:  opts.BinDir,
		user:    u,
	}
	if err := s.initdb(ctx, opts.MaxConnections, opts.Settings); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// start runs postgres and waits until it accepts connections. The caller
// holds s.mu (or is Start, before s is shared).
func (s *Server) start(ctx context.Context) error {
	p, err := launch{
		name: "postgres", bin: filepath.Join(s.binDir, "postgres"), args: []string{"-D", s.dataDir},
		dir: s.dir, logPath: s.logPath, user: s.user, quit: syscall.SIGQUIT,
		ready: func(ctx context.Context) error {
			conn, err := pgconn.Connect(ctx, s.ConnString("postgres"))
			if err != nil {
				return err
			}
			return conn.Close(ctx)
		},
	}.start(ctx)
	if err != nil {
		return err
	}
	s.proc = p
	return nil
}

// ConnString returns a keyword/value connection string for database dbname
// as the superuser "postgres" over the server's unix socket. It holds no
// password: the server trusts local connections.
func (s *Server) ConnString(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable",
		quoteValue(s.dir), s.port, quoteValue(dbname))
}

// Port is the server's port. It only names the socket file in Dir.
func (s *Server) Port() int { return s.port }

// Dir is the server's private directory: the unix socket, the data directory
// "data" and the server log "server.log". Close removes it.
func (s *Server) Dir() string { return s.dir }

// Stop shuts the server down fast (PostgreSQL's SIGINT: open transactions
// are rolled back and clients disconnected) and keeps the data, so Restart
// can bring the same databases back. Fault tests use it to take the database
// away while requests are in flight. Stopping a stopped server does nothing.
// If ctx ends first the server is shut down immediately instead.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.stop(ctx)
	s.proc = nil
	return err
}

// Restart starts the server again on the same socket, port and data. A
// running server is stopped first, so Restart also means "restart".
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("pgtemp: restart: server is closed")
	}
	if s.proc != nil {
		err := s.proc.stop(ctx)
		s.proc = nil
		if err != nil {
			return fmt.Errorf("pgtemp: restart: %w", err)
		}
	}
	return s.start(ctx)
}

// Close stops the server if it is running and removes its directory with all
// data. Calling it again does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var stopErr error
	if s.proc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		stopErr = s.proc.stop(ctx)
		cancel()
		s.proc = nil
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return errors.Join(stopErr, fmt.Errorf("pgtemp: remove %s: %w", s.dir, err))
	}
	return stopErr
}

// quoteValue quotes v for a keyword/value connection string when needed.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}
