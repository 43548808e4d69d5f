package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds how long in-flight requests may finish on exit.
const shutdownTimeout = 10 * time.Second

// run starts the example and serves until ctx ends, then shuts the server
// down gracefully and releases the database (a throwaway server is stopped
// and removed).
func run(ctx context.Context, cfg config, stdout io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.logger
	if log == nil {
		log = slog.Default()
	}
	db, err := openDatabase(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.close()) }()
	if err := prepareDatabase(ctx, db.pool, cfg); err != nil {
		return err
	}
	a, err := newApp(ctx, db.pool, cfg)
	if err != nil {
		return err
	}
	// Expired scs data of the control panel, until run returns; waited for
	// before the database is let go.
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	cleanupDone := make(chan struct{})
	go func() {
		defer close(cleanupDone)
		_ = a.scsStore.Run(cleanupCtx) // returns the context's error
	}()
	defer func() {
		stopCleanup()
		<-cleanupDone
	}()

	ln := cfg.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	printBanner(stdout, "http://"+ln.Addr().String(), db.describe, cfg)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "Shutting down…")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// printBanner tells the person who ran the example where to go and how to
// sign in.
func printBanner(w io.Writer, base, database string, cfg config) {
	fmt.Fprintf(w, `
sessionguard example: %[1]s/
  database:        %[2]s
  timeouts:        idle %[3]v, absolute %[4]v, warning %[5]v before the idle timeout

  control panel:   %[1]s/cp/
      admin@example.com    (admin)
      staff@example.com
  tenant app:      %[1]s/t/acme/     alice@acme.example    (tenant 1, acme)
                   %[1]s/t/globex/   bob@globex.example    (tenant 2, globex)
  password of every account: %[6]s

  JSON API:        curl -si %[1]s/api/login -H 'Content-Type: application/json' \
                     -d '{"email":"staff@example.com","password":"…","app":"control_panel"}'

Press Ctrl-C to stop.
`, base, database, cfg.IdleTimeout, cfg.AbsoluteTimeout, cfg.WarningThreshold, cfg.DemoPassword)
}
