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
	ln, err := listen(cfg.listener, cfg.Addr)
	if err != nil {
		return err
	}
	metricsLn, err := listen(cfg.metricsListener, cfg.MetricsAddr)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	base := "http://" + ln.Addr().String()
	provider, err := idp.New(idp.Config{Issuer: idpIssuer, Audience: idpAudience, Lifetime: cfg.AbsoluteTimeout})
	if err != nil {
		return errors.Join(err, ln.Close(), metricsLn.Close())
	}

	// The server starts before the app is built: the tenant app's guard
	// fetches its identity provider's keys (the JWKS) when it is built, and
	// the stand-in provider is served by this process (a real one is a
	// service of its own). Until the app is ready only the JWKS answers.
	handler := &startingHandler{jwks: provider.JWKS()}
	srvs := &servers{log: log, served: make(chan error, 2)}
	srvs.serve(handler, ln)
	// Until the app's metrics exist the metrics listener only accepts; once
	// served, Shutdown has closed it.
	shutdown := func() error {
		err := srvs.shutdown()
		if cerr := metricsLn.Close(); !errors.Is(cerr, net.ErrClosed) {
			err = errors.Join(err, cerr)
		}
		return err
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
	srvs.serve(a.metrics.routes(), metricsLn)

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
	printBanner(stdout, base, "http://"+metricsLn.Addr().String(), db.describe, cfg)

	select {
	case err := <-srvs.served:
		return errors.Join(fmt.Errorf("serve: %w", err), shutdown())
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "Shutting down…")
	return shutdown()
}

// printBanner tells the person who ran the example where to go and how to
// sign in.
func printBanner(w io.Writer, base, metricsBase, database string, cfg config) {
	fmt.Fprintf(w, `
sessionguard example: %[1]s/
  database:        %[2]s
  metrics:         %[8]s/metrics
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
`, base, database, cfg.IdleTimeout, cfg.AbsoluteTimeout, cfg.WarningThreshold, cfg.DemoPassword, cfg.ReauthWindow, metricsBase)
}

// listen returns ln, or without one a listener on addr.
func listen(ln net.Listener, addr string) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// servers are the example's HTTP servers (the pages and API, the metrics),
// shut down together.
type servers struct {
	log    *slog.Logger
	list   []*http.Server
	served chan error // each server's Serve error but http.ErrServerClosed
}

// serve serves h on ln with the timeouts every server of the example has: a
// client that sends its headers or body slowly, or reads slowly, or keeps an
// idle connection, cannot hold one for long.
func (s *servers) serve(h http.Handler, ln net.Listener) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.list = append(s.list, srv)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.served <- err
		}
	}()
}

// shutdown stops every server gracefully, all at once: no new connections,
// in-flight requests finish within shutdownTimeout, after which the rest are
// cut.
func (s *servers) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	errs := make([]error, len(s.list))
	var wg sync.WaitGroup
	for i, srv := range s.list {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
				errs[i] = fmt.Errorf("shutdown: %w", err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
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
