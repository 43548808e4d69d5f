package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/sessionguard/sessionguard"
	"github.com/sessionguard/sessionguard/internal/metrictest"
)

// Allocations of one Guard.Authenticate over a store that answers from
// memory (fixedStore), measured on the commit before metrics existed
// (e7ec653), with and without -race. Without a MeterProvider the Guard must
// allocate exactly as it did then: its hooks are nil checks. A change of the
// Guard that moves these numbers updates them here and in BENCHMARKS.md:
// issue 13's hashToken (the token copied to a stack buffer) took one off
// each, 6 and 8 before, and the store call's timer armed only when the
// store waits (storetimeout.go) three more.
const (
	allocsValidBeforeMetrics   = 2
	allocsRefusedBeforeMetrics = 4 // a session that was revoked
)

func TestMetricsOffAllocatesAsBefore(t *testing.T) {
	valid := newFixedStore(42)
	revoked := &fixedStore{st: valid.st}
	revoked.st.State, revoked.st.EndReason = sessionguard.StateRevoked, sessionguard.ReasonAdminRevoke
	token := benchOpaque(t)
	tests := []struct {
		name  string
		store *fixedStore
		want  float64
	}{
		{"valid", valid, allocsValidBeforeMetrics},
		{"refused", revoked, allocsRefusedBeforeMetrics},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off := guardForAllocs(t, Config{Store: tt.store})
			if off.metrics != nil {
				t.Fatal("a Guard without a MeterProvider has metrics")
			}
			if got := requestAllocs(off, token); got != tt.want {
				t.Errorf("metrics off: %v allocations per request, want %v as before metrics", got, tt.want)
			}
			// Counting with the SDK adds none either: the attribute sets
			// are built once, in New.
			on := guardForAllocs(t, Config{Store: tt.store, MeterProvider: metrictest.New(t).Provider})
			if got := requestAllocs(on, token); got != tt.want {
				t.Errorf("metrics on (SDK): %v allocations per request, want %v", got, tt.want)
			}
		})
	}
}

func guardForAllocs(t *testing.T, cfg Config) *Guard {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// requestAllocs is the allocations of one g.Authenticate of a request with
// token in its cookie. (Authenticate rather than Middleware: the refusal's
// JSON body comes from encoding/json's sync.Pool, which -race empties at
// random, so its count would vary.)
func requestAllocs(g *Guard, token string) float64 {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", DefaultCookieName+"="+token)
	return testing.AllocsPerRun(1000, func() { _, _ = g.Authenticate(r) })
}

// The hooks themselves, on a Guard without metrics.
func TestMetricsHooksOffAllocateNothing(t *testing.T) {
	var m *guardMetrics
	ctx := context.Background()
	e := sessionguard.Event{Kind: sessionguard.EventRefused, Reason: ErrRevoked.Reason}
	if got := testing.AllocsPerRun(1000, func() { m.validated(ctx); m.event(ctx, e) }); got != 0 {
		t.Errorf("nil hooks allocate %v times, want 0", got)
	}
}

// The Guard's decision over an in-memory store, without metrics and with the
// SDK counting (allocations are the number to read; BENCHMARKS.md):
//
//	go test -run '^$' -bench Authenticate -benchmem ./middleware/
func BenchmarkAuthenticate(b *testing.B) {
	token := benchOpaque(b)
	for _, bc := range []struct {
		name string
		mp   bool
	}{{"metrics off", false}, {"metrics on", true}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := Config{Store: newFixedStore(42), Logger: slog.New(slog.DiscardHandler)}
			if bc.mp {
				cfg.MeterProvider = metrictest.New(b).Provider
			}
			g, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Cookie", DefaultCookieName+"="+token)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
