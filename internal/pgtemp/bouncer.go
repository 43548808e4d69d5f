package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNoPgBouncer means no pgbouncer binary was found. Like ErrNoPostgres, its
// message says how to fix that.
var ErrNoPgBouncer = errors.New("pgtemp: no pgbouncer binary found: " +
	"install PgBouncer (Debian: apt-get install pgbouncer) or set PGBOUNCER to its path")

// BouncerOptions configures StartBouncer. The zero value is ready to use.
type BouncerOptions struct {
	// Binary is the pgbouncer executable. Default: $PGBOUNCER, else
	// /usr/sbin/pgbouncer (Debian), else pgbouncer on $PATH.
	Binary string
	// PoolSize is the most server connections per database (PgBouncer's
	// default_pool_size). Default 10.
	PoolSize int
}

const (
	defaultBouncerPoolSize = 10
	// bouncerPort only names the socket file in the bouncer's private
	// directory, like the server's port.
	bouncerPort = 6432
)

// Bouncer is a running PgBouncer in transaction-pooling mode in front of one
// PostgreSQL server: every client transaction may run on a different server
// connection, as in the usual production setup. It listens only on a unix
// socket in its own private directory, and trusts whoever reaches it there.
type Bouncer struct {
	dir     string // private directory: socket, pgbouncer.ini, userlist.txt, pgbouncer.log
	logPath string
	user    string // the only user clients may log in as
	bin     string
	runAs   serverUser

	mu     sync.Mutex
	proc   *process // nil once closed, or while a Restart failed
	closed bool
}

// StartBouncer starts PgBouncer in front of the server that target connects
// to (host, port, user and password are used; the database is whatever the
// client asks for). Clients log in as target.User without a password; PgBouncer
// logs in to the server with target's password, if any. The caller must
// Close the bouncer. It returns an error wrapping ErrNoPgBouncer when no
// pgbouncer binary can be found.
func StartBouncer(ctx context.Context, target *pgconn.Config, opts BouncerOptions) (*Bouncer, error) {
	bin, err := findPgBouncer(opts.Binary)
	if err != nil {
		return nil, err
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = defaultBouncerPoolSize
	}
	ctx, cancel := boundStart(ctx)
	defer cancel()
	// It runs as the same user as the throwaway server.
	u, dir, err := newPrivateDir()
	if err != nil {
		return nil, err
	}
	b := &Bouncer{dir: dir, logPath: filepath.Join(dir, "pgbouncer.log"), user: target.User, bin: bin, runAs: u}
	if err := b.writeConfig(target, opts.PoolSize, u); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := b.start(ctx, bin, u); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return b, nil
}

// findPgBouncer picks the pgbouncer binary. An explicit choice is never
// replaced by a guess.
func findPgBouncer(explicit string) (string, error) {
	for _, c := range []struct{ path, from string }{{explicit, "BouncerOptions.Binary"}, {os.Getenv("PGBOUNCER"), "PGBOUNCER"}} {
		if c.path == "" {
			continue
		}
		if !isExecutable(c.path) {
			return "", fmt.Errorf("%w (%s=%q is not an executable)", ErrNoPgBouncer, c.from, c.path)
		}
		return c.path, nil
	}
	if isExecutable("/usr/sbin/pgbouncer") {
		return "/usr/sbin/pgbouncer", nil
	}
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	return "", ErrNoPgBouncer
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0
}

// writeConfig writes pgbouncer.ini and the auth file, readable by u (who
// runs PgBouncer) alone: the ini holds the server's password, if any. No
// TCP listener (listen_addr unset): only the socket in the private
// directory.
func (b *Bouncer) writeConfig(target *pgconn.Config, poolSize int, u serverUser) error {
	server := fmt.Sprintf("host=%s port=%d user=%s", bouncerValue(target.Host), target.Port, bouncerValue(target.User))
	if target.Password != "" {
		server += " password=" + bouncerValue(target.Password)
	}
	ini := fmt.Sprintf(`; pgtemp: a throwaway PgBouncer reachable only through its private socket.
[databases]
* = %s

[pgbouncer]
unix_socket_dir = %s
listen_port = %d
pool_mode = transaction
auth_type = trust
auth_file = %s
admin_users = %s
max_client_conn = 1000
default_pool_size = %d
; a failed server login (a test database not created yet, a server
; restarting) is retried after a second, not PgBouncer's default 15
server_login_retry = 1
ignore_startup_parameters = extra_float_digits
`, server, b.dir, bouncerPort, filepath.Join(b.dir, "userlist.txt"), target.User, poolSize)
	// The auth file only names the user: auth_type trust needs it listed.
	userlist := `"` + strings.ReplaceAll(target.User, `"`, `""`) + `" ""` + "\n"
	for name, body := range map[string]string{"pgbouncer.ini": ini, "userlist.txt": userlist} {
		path := filepath.Join(b.dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return fmt.Errorf("pgtemp: pgbouncer %s: %w", name, err)
		}
		if err := u.chown(path); err != nil {
			return fmt.Errorf("pgtemp: chown %s: %w", path, err)
		}
	}
	return nil
}

// bouncerValue quotes v for a connection string in pgbouncer.ini.
func bouncerValue(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(v) + "'"
}

// Restart shuts the bouncer down at once (SIGTERM: every client connection
// is dropped, as when an operator restarts the service) and starts it again
// on the same socket and configuration, for tests of what clients do
// across a restart. It fails on a closed bouncer.
func (b *Bouncer) Restart(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("pgtemp: restart: the bouncer is closed")
	}
	if b.proc != nil {
		b.proc.kill()
		b.proc = nil
	}
	ctx, cancel := boundStart(ctx)
	defer cancel()
	return b.start(ctx, b.bin, b.runAs)
}

// start runs pgbouncer in the foreground, as our child, and waits until a
// query goes through it to the server. SIGTERM is PgBouncer's immediate
// shutdown.
func (b *Bouncer) start(ctx context.Context, bin string, u serverUser) error {
	p, err := launch{
		name: "pgbouncer", bin: bin, args: []string{filepath.Join(b.dir, "pgbouncer.ini")},
		dir: b.dir, logPath: b.logPath, user: u, quit: syscall.SIGTERM, ready: b.ping,
	}.start(ctx)
	if err != nil {
		return err
	}
	b.proc = p
	return nil
}

func (b *Bouncer) ping(ctx context.Context) error {
	conn, err := pgconn.Connect(ctx, b.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Exec(ctx, "SELECT 1").Close()
}

// ConnString returns a keyword/value connection string for database dbname
// through the bouncer's unix socket. It holds no password.
func (b *Bouncer) ConnString(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		quoteValue(b.dir), bouncerPort, quoteValue(b.user), quoteValue(dbname))
}

// Dir is the bouncer's private directory (socket, configuration, log).
// Close removes it.
func (b *Bouncer) Dir() string { return b.dir }

// Close shuts the bouncer down (SIGTERM: PgBouncer's immediate shutdown)
// and removes its directory. Calling it again does nothing.
func (b *Bouncer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.proc != nil {
		b.proc.kill()
		b.proc = nil
	}
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("pgtemp: remove %s: %w", b.dir, err)
	}
	return nil
}
