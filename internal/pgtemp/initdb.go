package pgtemp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// initdb creates the cluster and appends the throwaway settings to its
// postgresql.conf, so every start (and Restart) uses them without command
// line quoting.
func (s *Server) initdb(ctx context.Context, maxConns int, settings map[string]string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "initdb"),
		"-D", s.dataDir,
		"-A", "trust", // only reachable through a socket in a private directory
		"-U", "postgres",
		"-E", "UTF8",
		"--locale=C", // exists everywhere; sorting by bytes is fine for tests
		"--no-sync",  // the data is thrown away
	)
	cmd.Dir = s.dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = s.user.attr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtemp: initdb: %w\n%s", err, tail(out, 20))
	}

	conf := fmt.Sprintf(`
# pgtemp: a throwaway server reachable only through its private socket.
listen_addresses = ''
unix_socket_directories = '%s'
port = %d
max_connections = %d
# Durability is pointless for data that is thrown away.
fsync = off
synchronous_commit = off
full_page_writes = off
`, strings.ReplaceAll(s.dir, "'", "''"), s.port, maxConns)
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		conf += fmt.Sprintf("%s = %s\n", name, settings[name])
	}
	f, err := os.OpenFile(filepath.Join(s.dataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgtemp: postgresql.conf: %w", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgtemp: postgresql.conf: %w", err)
	}
	return nil
}

// childEnv is our environment without PG* variables, which would otherwise
// change where initdb and postgres put or look for things.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// tail returns the last n lines of out, for error messages.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
