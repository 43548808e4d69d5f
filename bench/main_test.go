package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBenchSmoke runs the whole bench for a very short time against its own
// throwaway PostgreSQL and checks the summary line: every key the issue asks
// for, present and sane (positive, finite, no errors, the revocations all
// timed). -pool is not among -pools, as a run may have it: the light loads
// then run at a pool size no load cell does. It asserts nothing about speed: windows this short on a shared
// machine move any ratio by large factors.
func TestBenchSmoke(t *testing.T) {
	o, err := parseFlags(flag.NewFlagSet("bench", flag.ContinueOnError), []string{
		"-duration", "300ms", "-warmup", "100ms", "-conns", "4,16", "-lowconns", "1", "-pools", "2,3",
		"-pool", "4", "-rounds", "1", "-sessions", "200", "-revocations", "2",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	var logw io.Writer = io.Discard
	if testing.Verbose() {
		logw = os.Stderr
	}
	if err := run(ctx, o, &out, logw); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var summary map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out.String())
	}
	t.Log(out.String())

	ratios := []string{"default_vs_jwt", "default_vs_seed", "default_vs_scs", "default_jwt_vs_jwt", "guard_vs_handwritten",
		"batched_vs_unbatched", "cached_vs_noauth", "cached_jwt_vs_noauth", "noop_vs_noauth",
		"light_p50_batched_vs_unbatched", "light_p99_batched_vs_unbatched"}
	for _, k := range ratios {
		if v, ok := summary[k].(float64); !ok || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive ratio", k, summary[k])
		}
	}
	if v, ok := summary["guard_cpu_vs_handwritten"].(float64); !ok || !(v > 0) || math.IsInf(v, 0) {
		t.Errorf("guard_cpu_vs_handwritten = %v, want a positive ratio", summary["guard_cpu_vs_handwritten"])
	}
	if v, ok := summary["revocation_p99_ms"].(float64); !ok || !(v > 0 && v < 10_000) {
		t.Errorf("revocation_p99_ms = %v, want a positive time", summary["revocation_p99_ms"])
	}
	if v, ok := summary["revocations"].(float64); !ok || v != 4 {
		t.Errorf("revocations = %v, want 4 (2 per cached window at each of 2 loads)", summary["revocations"])
	}
	// Every session of the cached variants was requested in the touch pass
	// and the warm-up before each window: in the window, nearly all hit.
	for _, k := range []string{"cache_hit_share", "cache_jwt_hit_share"} {
		if v, ok := summary[k].(float64); !ok || v < 0.5 || v > 1 {
			t.Errorf("%s = %v, want a share of lookups answered from memory, most of them", k, summary[k])
		}
	}
	if v, ok := summary["updates_per_req_default"].(float64); !ok || v < 0 || v > 0.05 {
		t.Errorf("updates_per_req_default = %v, want between 0 and 0.05 (steady state)", summary["updates_per_req_default"])
	}
	if v, ok := summary["errors"].(float64); !ok || v != 0 {
		t.Errorf("errors = %v, want 0", summary["errors"])
	}
	byConns, _ := summary["by_conns"].(map[string]any)
	for _, c := range []string{"4", "16"} {
		level, _ := byConns[c].(map[string]any)
		rates, _ := level["req_per_s"].(map[string]any)
		for _, k := range []string{"noop", "no_auth", "jwt", "seed", "scs", "handwritten", "default", "unbatched", "default_jwt", "cached", "cached_jwt"} {
			if v, _ := rates[k].(float64); v <= 0 {
				t.Errorf("%s connections: req/s of %s = %v", c, k, rates[k])
			}
		}
		if v, _ := level["loadgen_cpu_us_per_req"].(float64); v <= 0 {
			t.Errorf("%s connections: loadgen_cpu_us_per_req = %v", c, level["loadgen_cpu_us_per_req"])
		}
		if v, _ := level["default_pg_cpu_us_per_req"].(float64); v <= 0 {
			t.Errorf("%s connections: default_pg_cpu_us_per_req = %v", c, level["default_pg_cpu_us_per_req"])
		}
	}
	light, _ := byConns["1"].(map[string]any)
	for _, k := range []string{"default", "unbatched", "handwritten"} {
		v, _ := light[k].(map[string]any)
		if p99, _ := v["p99_ms"].(float64); p99 <= 0 {
			t.Errorf("1 connection: %s p99 = %v", k, v["p99_ms"])
		}
	}
}
