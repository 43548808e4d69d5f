package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds everything one test does in its browser, unless the test
// passes Timeout to New.
const DefaultTimeout = 90 * time.Second

// installHint is the message of a test that cannot find a browser.
const installHint = "no Chromium found: install Debian's chromium (apt-get install -y chromium) or set CHROME_PATH"

// Option changes how New starts the browser.
type Option func(*options)

type options struct {
	timeout time.Duration
	width   int
	height  int
}

// Timeout bounds the test's browser context: every action fails once it passes.
func Timeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WindowSize sets the size of the browser window (default 1024×768).
func WindowSize(width, height int) Option {
	return func(o *options) { o.width, o.height = width, height }
}

// ChromePath returns the browser to run: $CHROME_PATH if set, else the first of
// chromium, chromium-browser and google-chrome (on PATH or in /usr/bin). It fails
// the test when there is none.
func ChromePath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CHROME_PATH=%q: %v; %s", p, err, installHint)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := filepath.Join("/usr/bin", name); isExecutable(p) {
			return p
		}
	}
	t.Fatal(installHint)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// New starts a headless browser for t and returns the context of its first tab.
// The browser and its temporary profile go away when the test ends. Console
// messages and uncaught exceptions of the page are written to the test log.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	o := options{timeout: DefaultTimeout, width: 1024, height: 768}
	for _, f := range opts {
		f(&o)
	}
	path := ChromePath(t)
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var ctx context.Context
		if ctx, err = start(t, path, o); err == nil {
			setup(t, ctx, "tab1")
			return ctx
		}
		t.Logf("start %s, attempt %d of %d: %v", path, attempt, startAttempts, err)
	}
	t.Fatalf("start %s: %v", path, err)
	return nil
}

// startAttempts is how many times New starts the browser before it fails the
// test: on a loaded CI machine Chromium once exited while starting, before it
// printed its DevTools address ("chrome failed to start"), which is not what
// any test is about.
const startAttempts = 3

// start starts a browser with a profile of its own and opens its first tab.
// On success everything goes when t ends; on failure at once.
func start(t testing.TB, path string, o options) (context.Context, error) {
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		return nil, err
	}

	alloc := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox, // root in a container: the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(o.width, o.height),
	}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:], alloc...)

	base, cancelBase := context.WithTimeout(context.Background(), o.timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(base, allocOpts...)
	ctx, cancelCtx := chromedp.NewContext(actx,
		chromedp.WithLogf(t.Logf),
		chromedp.WithErrorf(func(format string, args ...any) { t.Logf("chromedp error: "+format, args...) }),
	)
	stop := func() {
		cancelCtx()
		cancelAlloc()
		cancelBase()
		_ = os.RemoveAll(profile)
	}
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, err
	}
	t.Cleanup(stop)
	return ctx, nil
}

// NewTab opens another tab (in a window of its own, so that it is visible and its
// timers run) in the browser of ctx. Like the first tab, it acts as focused. It shares the cookie jar and storage of the
// other tabs. It closes when the test ends.
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tctx, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	setup(t, tctx, "tab2")
	return tctx
}

// setup makes the tab behave as the focused page of a focused window, as the page
// a person looks at would (focus events and :focus styles, even with several tabs),
// and logs its console.
func setup(t testing.TB, ctx context.Context, label string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled,
		emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("focus emulation: %v", err)
	}
	logPage(t, ctx, label)
}

var logMu sync.Mutex

// logPage writes the console and the uncaught exceptions of the tab to the test log.
func logPage(t testing.TB, ctx context.Context, label string) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		select {
		case <-done: // the test is over; t.Logf would panic
		default:
			t.Logf(format, args...)
		}
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			logf("%s console.%s: %s", label, ev.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			logf("%s uncaught exception: %s", label, msg)
		}
	})
	if err != nil {
		t.Logf("browsertest: cannot listen to the console: %v", err)
	}
}

// ArtifactsDir returns the directory that receives screenshots: $ARTIFACTS_DIR if
// set, else "artifacts" at the root of the module (the directory with go.mod). It
// creates the directory.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("artifacts: %v", err)
		}
		dir = filepath.Join(root, "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a PNG of the tab's viewport as ArtifactsDir/<test>-<name>.png,
// logs its path and returns it. A failure to capture fails the test.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	file := unsafeName.ReplaceAllString(t.Name()+"-"+name, "_") + ".png"
	path := filepath.Join(ArtifactsDir(t), file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
