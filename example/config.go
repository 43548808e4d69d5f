package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// Defaults of the settings.
const (
	defaultAddr             = "127.0.0.1:8080"
	defaultMetricsAddr      = "127.0.0.1:9464" // the OpenTelemetry Prometheus exporter's port
	defaultDemoPassword     = "demo-password"
	defaultIdleTimeout      = 4 * time.Hour
	defaultAbsoluteTimeout  = 8 * time.Hour
	defaultWarningThreshold = 5 * time.Minute
	defaultCleanupInterval  = 5 * time.Minute
	defaultReauthWindow     = 10 * time.Minute
)

// config is what run needs. loadConfig fills it from flags and the
// environment and validates it; tests build it directly and call validate.
type config struct {
	Addr string
	// MetricsAddr is where GET /metrics is served: a listener of its own,
	// for the scraper on an internal network, never next to the pages.
	MetricsAddr      string
	DatabaseURL      string // secret: never printed
	DemoPassword     string // printed on start, by design: it is a demo
	IdleTimeout      time.Duration
	AbsoluteTimeout  time.Duration
	WarningThreshold time.Duration
	// ReauthWindow is how old the last authentication may be for the
	// control panel's sensitive pages (password, your sessions, admin)
	// before they ask for the password again.
	ReauthWindow time.Duration
	// TrustedProxies are the reverse proxies in front of the example (the
	// TLS-terminating one that checkLoopback asks for): behind them every
	// request comes from a proxy's address, and the client is the address
	// they report in X-Forwarded-For (middleware.ClientIPBehindProxies).
	// Empty: no proxy; X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix

	// bcryptCost is bcrypt.DefaultCost unless a test lowers it.
	bcryptCost int
	// comparePassword is bcrypt.CompareHashAndPassword unless a test
	// counts the comparisons (nil: bcrypt's).
	comparePassword func(hash, password []byte) error
	// cleanupInterval is the time between two runs of the sessions Cleaner
	// (defaultCleanupInterval unless a test shortens it).
	cleanupInterval time.Duration
	// addressLimit and accountLimit throttle sign-ins (throttle.go; the
	// defaults unless a test changes them).
	addressLimit, accountLimit rateLimit
	// logger receives the middleware's, the store's, the pool's and the
	// server's logs.
	logger *slog.Logger
	// poolConfig, when set, is used instead of DATABASE_URL or a throwaway
	// server (tests pass the configuration of a pgtest database). run opens
	// its own pool on a copy, with its logger, and closes it.
	poolConfig *pgxpool.Config
	// listener and metricsListener, when set, are served instead of
	// listening on Addr and MetricsAddr (tests pass ones on 127.0.0.1:0).
	listener, metricsListener net.Listener
}

// loadConfig reads the settings: each flag's default comes from its
// environment variable, then the built-in default. DATABASE_URL and
// DEMO_PASSWORD are read from the environment only, so that they do not show
// in the process list.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{DatabaseURL: getenv("DATABASE_URL"), DemoPassword: getenv("DEMO_PASSWORD")}
	if cfg.DemoPassword == "" {
		cfg.DemoPassword = defaultDemoPassword
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&cfg.Addr, "addr", env("ADDR", defaultAddr), "listen address, loopback only (env ADDR)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env("METRICS_ADDR", defaultMetricsAddr),
		"listen address of GET /metrics, an internal interface (env METRICS_ADDR)")
	durations := []struct {
		dst        *time.Duration
		flag, name string
		def        time.Duration
	}{
		{&cfg.IdleTimeout, "idle-timeout", "IDLE_TIMEOUT", defaultIdleTimeout},
		{&cfg.AbsoluteTimeout, "absolute-timeout", "ABSOLUTE_TIMEOUT", defaultAbsoluteTimeout},
		{&cfg.WarningThreshold, "warning-threshold", "WARNING_THRESHOLD", defaultWarningThreshold},
		{&cfg.ReauthWindow, "reauth-window", "REAUTH_WINDOW", defaultReauthWindow},
	}
	for _, d := range durations {
		*d.dst = d.def
		if v := getenv(d.name); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil {
				return config{}, fmt.Errorf("%s=%q: not a Go duration such as 4h, 90m or 20s", d.name, v)
			}
			*d.dst = parsed
		}
		fs.DurationVar(d.dst, d.flag, *d.dst, "Go duration (env "+d.name+")")
	}
	proxies := env("TRUSTED_PROXIES", "")
	fs.StringVar(&proxies, "trusted-proxies", proxies,
		"comma-separated addresses or CIDR prefixes of the reverse proxies in front, whose X-Forwarded-For is believed (env TRUSTED_PROXIES)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./example [flags]\n\nDATABASE_URL and DEMO_PASSWORD are read from the environment.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.TrustedProxies, err = parsePrefixes(proxies); err != nil {
		return config{}, fmt.Errorf("TRUSTED_PROXIES=%q: %w", proxies, err)
	}
	cfg.bcryptCost = bcrypt.DefaultCost
	cfg.cleanupInterval = defaultCleanupInterval
	cfg.addressLimit, cfg.accountLimit = defaultAddressLimit, defaultAccountLimit
	return cfg, cfg.validate()
}

// validate checks the settings once, at start, with messages that say what to
// change. The middleware checks them again when the guards are built.
func (c config) validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"IDLE_TIMEOUT", c.IdleTimeout}, {"ABSOLUTE_TIMEOUT", c.AbsoluteTimeout}, {"WARNING_THRESHOLD", c.WarningThreshold},
		{"REAUTH_WINDOW", c.ReauthWindow}} {
		if d.v < time.Second || d.v%time.Second != 0 {
			errs = append(errs, fmt.Errorf("%s=%v: must be a whole number of seconds, at least 1s", d.name, d.v))
		}
	}
	if c.IdleTimeout > c.AbsoluteTimeout {
		errs = append(errs, fmt.Errorf("IDLE_TIMEOUT (%v) must not exceed ABSOLUTE_TIMEOUT (%v)", c.IdleTimeout, c.AbsoluteTimeout))
	}
	if c.WarningThreshold >= c.IdleTimeout {
		errs = append(errs, fmt.Errorf("WARNING_THRESHOLD (%v) must be shorter than IDLE_TIMEOUT (%v)", c.WarningThreshold, c.IdleTimeout))
	}
	if err := checkPassword(c.DemoPassword); err != nil {
		errs = append(errs, fmt.Errorf("DEMO_PASSWORD: %w", err))
	}
	if c.listener == nil {
		if err := checkLoopback(c.Addr); err != nil {
			errs = append(errs, err)
		}
	}
	if c.metricsListener == nil {
		if err := checkMetricsAddr(c.MetricsAddr, c.Addr); err != nil {
			errs = append(errs, err)
		}
	}
	if c.bcryptCost < bcrypt.MinCost || c.bcryptCost > bcrypt.MaxCost {
		errs = append(errs, fmt.Errorf("bcrypt cost %d out of range", c.bcryptCost))
	}
	if c.cleanupInterval <= 0 {
		errs = append(errs, fmt.Errorf("cleanup interval %v: must be positive", c.cleanupInterval))
	}
	for _, l := range []rateLimit{c.addressLimit, c.accountLimit} {
		if l.every <= 0 || l.burst < 1 {
			errs = append(errs, fmt.Errorf("sign-in limit %+v: needs a positive interval and a burst of at least 1", l))
		}
	}
	return errors.Join(errs...)
}

// checkLoopback refuses to listen beyond this machine. The session cookies
// are Secure (__Host- prefix): browsers send them over plain http only to
// localhost and 127.0.0.1, so on any other address sign-in would silently
// fail; and switching them to insecure cookies would send session tokens in
// clear over the network. Put a TLS-terminating proxy in front instead.
func checkLoopback(addr string) error {
	host, err := splitListenAddr(addr)
	if err != nil {
		return fmt.Errorf("ADDR=%q: %v", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("ADDR=%q: the example listens on loopback addresses only (127.0.0.1, ::1, localhost): "+
		"its session cookies are Secure, which browsers accept over plain http only on this machine; "+
		"to reach it from elsewhere, put a TLS-terminating proxy in front of %s and name it in TRUSTED_PROXIES", addr, defaultAddr)
}

// checkMetricsAddr checks METRICS_ADDR: a host and port of their own. It may
// be any interface (the scraper is usually on another machine), so it must
// be an internal one: metrics say how many sign-ins fail and why.
func checkMetricsAddr(addr, pages string) error {
	if _, err := splitListenAddr(addr); err != nil {
		return fmt.Errorf("METRICS_ADDR=%q: %v", addr, err)
	}
	if _, port, _ := net.SplitHostPort(addr); addr == pages && port != "0" {
		return fmt.Errorf("METRICS_ADDR=%q: must differ from ADDR, so that metrics are not served next to the pages", addr)
	}
	return nil
}

// parsePrefixes reads a comma-separated list of IP addresses (each its own
// /32 or /128) and CIDR prefixes; "" is none.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// splitListenAddr returns the host of a listen address host:port, whose port
// is a number from 0 to 65535, so that a mistyped port fails at start, not
// after the database is prepared.
func splitListenAddr(addr string) (host string, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return host, nil
}

// checkPassword is the password rule of the example: 8 to 72 bytes (72 is
// bcrypt's limit; longer passwords are refused rather than cut).
func checkPassword(p string) error {
	switch {
	case len(p) < 8:
		return errors.New("must be at least 8 characters")
	case len(p) > 72:
		return errors.New("must be at most 72 bytes")
	}
	return nil
}
