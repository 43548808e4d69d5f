package pgtemp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// StandbyOptions configures StartStandby. The zero value is ready to use.
type StandbyOptions struct {
	// ApplyDelay is the standby's recovery_min_apply_delay: how long it
	// holds each transaction back before replaying it, so tests can make a
	// replica lag on purpose. Default 0 (replay at once). Whole milliseconds.
	ApplyDelay time.Duration
	// Settings are extra postgresql.conf settings for the standby, as in
	// Options.Settings.
	Settings map[string]string
}

// StartStandby makes a streaming hot standby of s: pg_basebackup -R copies
// the running primary into a new private directory (with standby.signal and
// primary_conninfo pointing at s's socket), and the copy starts with a
// socket of its own. It accepts read-only connections as soon as it is
// consistent, like any hot standby, and replays what s writes from then on.
// The caller must Close it; Promote turns it into a primary.
func (s *Server) StartStandby(ctx context.Context, opts StandbyOptions) (*Server, error) {
	if opts.ApplyDelay < 0 || opts.ApplyDelay%time.Millisecond != 0 {
		return nil, fmt.Errorf("pgtemp: standby: ApplyDelay %v is not a whole, non-negative number of milliseconds", opts.ApplyDelay)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	dir, err := makeDir(s.user)
	if err != nil {
		return nil, err
	}
	sb := &Server{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "server.log"),
		port:    s.port,
		binDir:  s.binDir,
		user:    s.user,
	}
	if err := sb.baseBackup(ctx, s); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	settings := map[string]string{
		// The copy's postgresql.conf names the primary's directory.
		"unix_socket_directories":  quoteConf(dir),
		"hot_standby":              "on",
		"recovery_min_apply_delay": fmt.Sprintf("'%dms'", opts.ApplyDelay.Milliseconds()),
		// Replies often, so the primary's view of replay is fresh.
		"wal_receiver_status_interval": "'1s'",
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	if err := appendConf(sb.dataDir, "pgtemp standby", settings); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := sb.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return sb, nil
}

// baseBackup copies primary into sb's data directory over the primary's
// socket, as the server user, and writes the standby configuration (-R).
func (sb *Server) baseBackup(ctx context.Context, primary *Server) error {
	cmd := exec.CommandContext(ctx, filepath.Join(sb.binDir, "pg_basebackup"),
		"-D", sb.dataDir,
		"-h", primary.dir,
		"-p", fmt.Sprint(primary.port),
		"-U", "postgres",
		"-R",           // standby.signal and primary_conninfo
		"-X", "stream", // the WAL written during the copy comes along
		"-c", "fast", // do not wait for a scheduled checkpoint
		"--no-sync", // the data is thrown away
	)
	cmd.Dir = sb.dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = sb.user.attr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtemp: pg_basebackup: %w\n%s", err, tail(out, 20))
	}
	return nil
}

// Promote ends recovery on a standby (pg_ctl promote) and waits until it
// accepts writes: the failover step. Promoting a primary is an error.
func (s *Server) Promote(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return fmt.Errorf("pgtemp: promote: server is not running")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "pg_ctl"), "promote", "-w", "-t", "60", "-D", s.dataDir)
	cmd.Dir = s.dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = s.user.attr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtemp: pg_ctl promote: %w\n%s", err, tail(out, 20))
	}
	return nil
}

// appendConf appends settings, sorted by name, to dataDir's postgresql.conf.
// Later lines win, so they override what the file already says.
func appendConf(dataDir, comment string, settings map[string]string) error {
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "\n# %s\n", comment)
	for _, name := range names {
		fmt.Fprintf(&b, "%s = %s\n", name, settings[name])
	}
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("pgtemp: postgresql.conf: %w", err)
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgtemp: postgresql.conf: %w", err)
	}
	return nil
}

// quoteConf quotes a string value for postgresql.conf.
func quoteConf(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
