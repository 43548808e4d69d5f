package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionguard/sessionguard/example/idp"
	"github.com/sessionguard/sessionguard/pgstore"
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
	db, err := openDatabase(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.close()) }()
	if err := prepareDatabase(ctx, db.pool, cfg); err != nil {
		return err
	}
	ln := cfg.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return err
		}
	}
	base := "http://" + ln.Addr().String()
	provider, err := idp.New(idp.Config{Issuer: idpIssuer, Audience: idpAudience, Lifetime: cfg.AbsoluteTimeout})
	if err != nil {
		return err
	}

	// The server starts before the app is built: the tenant app's guard
	// fetches its identity provider's keys (the JWKS) when it is built, and
	// the stand-in provider is served by this process (a real one is a
	// service of its own). Until the app is ready only the JWKS answers.
	handler := &startingHandler{jwks: provider.JWKS()}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	shutdown := func() error {
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

	// The app's background work (the JWKS refresh) lasts until run returns,
	// after the last request: not only until ctx (Ctrl-C) ends.
	appCtx, stopApp := context.WithCancel(context.WithoutCancel(ctx))
	defer stopApp()
	a, err := newApp(appCtx, db.pool, cfg, provider, base+idp.JWKSPath)
	if err != nil {
		return errors.Join(err, shutdown())
	}
	handler.app.Store(a)

	// Background work, until run returns; waited for before the database is
	// let go. Every instance runs a Cleaner (they take turns on an advisory
	// lock): it ends expired sessions and deletes ended ones after the
	// retention period. scs's own cleanup deletes expired scs data.
	cleaner, err := pgstore.NewCleaner(db.pool, pgstore.CleanerConfig{Interval: cfg.cleanupInterval, Logger: log})
	if err != nil {
		return errors.Join(err, shutdown())
	}
	stopBackground := background(ctx,
		func(ctx context.Context) { _ = cleaner.Run(ctx) },    // returns ctx's error; failed runs are logged
		func(ctx context.Context) { _ = a.scsStore.Run(ctx) }, // returns ctx's error
	)
	defer stopBackground()
	printBanner(stdout, base, db.describe, cfg)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "Shutting down…")
	return shutdown()
}

// printBanner tells the person who ran the example where to go and how to
// sign in.
func printBanner(w io.Writer, base, database string, cfg config) {
	fmt.Fprintf(w, `
sessionguard example: %[1]s/
  database:        %[2]s
  timeouts:        idle %[3]v, absolute %[4]v, warning %[5]v before the idle timeout
  re-authentication: the control panel's password, sessions and admin pages
                   ask for the password again %[7]v after the last one

  control panel:   %[1]s/cp/
      admin@example.com    (admin)
      staff@example.com
  tenant app:      %[1]s/t/acme/     alice@acme.example    (tenant 1, acme)
                   %[1]s/t/globex/   bob@globex.example    (tenant 2, globex)
  password of every account: %[6]s

  JSON API:        curl -si %[1]s/api/login -H 'Content-Type: application/json' \
                     -d '{"email":"staff@example.com","password":"…"}'
                   (the tenant app's: %[1]s/t/acme/api/login)

Press Ctrl-C to stop.
`, base, database, cfg.IdleTimeout, cfg.AbsoluteTimeout, cfg.WarningThreshold, cfg.DemoPassword, cfg.ReauthWindow)
}

// startingHandler serves the identity provider's JWKS while the app is being
// built, 503 for anything else, and the app once it is stored.
type startingHandler struct {
	jwks http.Handler
	app  atomic.Pointer[app]
}

func (h *startingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a := h.app.Load(); a != nil {
		a.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == idp.JWKSPath {
		h.jwks.ServeHTTP(w, r)
		return
	}
	http.Error(w, "starting", http.StatusServiceUnavailable)
}

// background runs each loop in its own goroutine until stop is called; stop
// ends them and waits until they have returned.
func background(ctx context.Context, loops ...func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Go(func() { loop(ctx) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}
