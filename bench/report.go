package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/sessionguard/sessionguard/pgstore"
)

// ratios are the goals' ratios at one load, each variant at its best pool size.
var ratioKeys = []struct{ key, num, den string }{
	{"default_vs_jwt", "default", "jwt"},
	{"default_vs_seed", "default", "seed"},
	{"default_vs_scs", "default", "scs"},
	{"default_jwt_vs_jwt", "default_jwt", "jwt"},
	{"guard_vs_handwritten", "unbatched", "handwritten"},
	{"batched_vs_unbatched", "default", "unbatched"},
	{"cached_vs_noauth", "cached", "no_auth"},
	{"cached_jwt_vs_noauth", "cached_jwt", "no_auth"},
	{"noop_vs_noauth", "noop", "no_auth"},
}

// report prints one table per load and, as its last line, the JSON summary.
func report(out io.Writer, o options, cells []*cell, revocations []time.Duration, touchInterval time.Duration,
	took time.Duration) {
	fmt.Fprintf(out, "\nsessionguard bench: %d rounds x %v windows, connections %v (light %v), pools %v (others %d), %d sessions per variant, GOMAXPROCS %d, took %v\n",
		o.rounds, o.duration, o.conns, o.lowConns, o.pools, o.pool, o.sessions, runtime.GOMAXPROCS(0), took.Round(time.Second))

	byConns := map[string]any{}
	worst := map[string]float64{}    // ratios where higher is better: the lowest
	worstCPU := map[string]float64{} // cost ratios: the highest
	for _, c := range append(slices.Clone(o.conns), o.lowConns...) {
		light := !slices.Contains(o.conns, c)
		at := cellsAt(cells, c)
		fmt.Fprintf(out, "\n### %d connections%s\n\n", c, map[bool]string{true: " (light load)"}[light])
		fmt.Fprintf(out, "| variant | req/s (median) | ÷ no auth | ÷ JWT | p50 ms | p99 ms | statements/req | row updates/req | HOT updates | WAL bytes/req | Go CPU µs/req | PostgreSQL CPU µs/req | errors |\n")
		fmt.Fprintf(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		noAuth, jwt := bestRate(at, "no_auth"), bestRate(at, "jwt")
		for _, x := range at {
			r := &x.res
			hot := "-"
			if x.k.touches && r.delta.updates > 0 {
				hot = fmt.Sprintf("%d of %d", r.delta.hotUpdates, r.delta.updates)
			}
			fmt.Fprintf(out, "| %s | %.0f | %s | %s | %.2f | %.2f | %.3f | %.4f | %s | %.1f | %.1f | %.1f | %d |\n",
				x.label(), r.medianRate(), ratioText(r.medianRate(), noAuth), ratioText(r.medianRate(), jwt),
				ms(percentile(r.latencies, 0.5)), ms(percentile(r.latencies, 0.99)),
				perReq(r.delta.statements, r.requests), perReq(r.delta.updates, r.requests), hot,
				perReq(r.delta.walBytes, r.requests), us(r.cpu.goProc, r.requests), us(r.cpu.postgres, r.requests), r.errors)
		}
		level := map[string]any{}
		if light {
			for _, x := range at {
				level[x.k.key] = map[string]float64{
					"req_per_s": round3(x.res.medianRate()),
					"p50_ms":    round3(ms(percentile(x.res.latencies, 0.5))),
					"p99_ms":    round3(ms(percentile(x.res.latencies, 0.99))),
				}
			}
			// Batching must add no latency when there is little to batch.
			if d, u := bestCell(at, "default"), bestCell(at, "unbatched"); d != nil && u != nil {
				for _, p := range []struct {
					key string
					q   float64
				}{{"light_p50_batched_vs_unbatched", 0.5}, {"light_p99_batched_vs_unbatched", 0.99}} {
					if ud := percentile(u.res.latencies, p.q); ud > 0 {
						v := round3(float64(percentile(d.res.latencies, p.q)) / float64(ud))
						level[p.key] = v
						if w, seen := worstCPU[p.key]; !seen || v > w {
							worstCPU[p.key] = v
						}
					}
				}
			}
			byConns[strconv.Itoa(c)] = level
			continue
		}
		rates := map[string]float64{}
		pools := map[string]int{}
		for _, x := range at {
			if r := x.res.medianRate(); r > rates[x.k.key] {
				rates[x.k.key], pools[x.k.key] = round3(r), x.pool
			}
		}
		for _, rk := range ratioKeys {
			if rates[rk.num] == 0 || rates[rk.den] == 0 {
				continue
			}
			v := round3(rates[rk.num] / rates[rk.den])
			level[rk.key] = v
			if w, seen := worst[rk.key]; !seen || v < w {
				worst[rk.key] = v
			}
		}
		level["req_per_s"], level["best_pool"] = rates, pools
		if x := bestCell(at, "noop"); x != nil {
			level["loadgen_cpu_us_per_req"] = round3(us(x.res.cpu.goProc, x.res.requests))
		}
		// The Guard's own cost as CPU: the Go process's CPU per request of
		// the unbatched Guard over the floor's (the same statement each), at
		// each one's best pool size. 1.15 is the goal's bound.
		if g, h := bestCell(at, "unbatched"), bestCell(at, "handwritten"); g != nil && h != nil && h.res.cpu.goProc > 0 {
			v := round3(us(g.res.cpu.goProc, g.res.requests) / us(h.res.cpu.goProc, h.res.requests))
			level["guard_cpu_vs_handwritten"] = v
			if w, seen := worstCPU["guard_cpu_vs_handwritten"]; !seen || v > w {
				worstCPU["guard_cpu_vs_handwritten"] = v
			}
		}
		if x := bestCell(at, "default"); x != nil {
			level["default_p99_ms"] = round3(ms(percentile(x.res.latencies, 0.99)))
			level["default_pg_cpu_us_per_req"] = round3(us(x.res.cpu.postgres, x.res.requests))
			level["default_statements_per_req"] = round3(perReq(x.res.delta.statements, x.res.requests))
		}
		byConns[strconv.Itoa(c)] = level
	}

	def := bestCell(cellsAt(cells, o.conns[0]), "default")
	var updates, stale, aligned float64
	var defRate float64
	for _, x := range cells {
		if x.k.key == "default" && slices.Contains(o.conns, x.conns) {
			updates += float64(x.res.delta.updates)
			stale = max(stale, float64(x.res.staleBefore))
			aligned += float64(x.res.aligned)
		}
	}
	var defRequests int64
	for _, x := range cells {
		if x.k.key == "default" && slices.Contains(o.conns, x.conns) {
			defRequests += x.res.requests
		}
	}
	if def != nil {
		defRate = def.res.medianRate()
	}
	continuous := 0.0
	if defRate > 0 {
		continuous = float64(o.sessions) / (touchInterval.Seconds() * defRate)
	}
	fmt.Fprintf(out, "\nloads %v: the ratios take each variant at its best pool size; the JSON's top-level ratios are the lowest over these loads.\n", o.conns)
	fmt.Fprintf(out, "default path: sessions of its set untouched for a whole touch interval when a window started (max): %.0f; touches brought forward before windows: %.0f\n", stale, aligned)
	fmt.Fprintf(out, "default path under continuous traffic (one write per session per %v): %d sessions / (%.0f s x %.0f req/s) = %.4f row updates/req\n",
		touchInterval, o.sessions, touchInterval.Seconds(), defRate, continuous)
	cs, csJWT := cacheStatsOf(cells, o.conns, "cached"), cacheStatsOf(cells, o.conns, "cached_jwt")
	fmt.Fprintf(out, "in the measured windows, cache (opaque): %d hits, %d misses (%.1f%% hits); cache (JWT): %d hits, %d misses (%.1f%% hits)\n",
		cs.Hits, cs.Misses, 100*hitShare(cs), csJWT.Hits, csJWT.Misses, 100*hitShare(csJWT))
	fmt.Fprintf(out, "revocation on instance A refused by instance B: n=%d p50 %.2f ms, p99 %.2f ms, max %.2f ms\n\n",
		len(revocations), ms(percentile(revocations, 0.5)), ms(percentile(revocations, 0.99)), ms(percentile(revocations, 1)))

	summary := map[string]any{
		"revocation_p99_ms":                  round3(ms(percentile(revocations, 0.99))),
		"revocations":                        len(revocations),
		"cache_hit_share":                    round6(hitShare(cs)),
		"cache_jwt_hit_share":                round6(hitShare(csJWT)),
		"updates_per_req_default":            round6(perReq(int64(updates), defRequests)),
		"updates_per_req_default_continuous": round6(continuous),
		"by_conns":                           byConns,
		"rounds":                             o.rounds, "duration_s": o.duration.Seconds(), "conns": o.conns, "light_conns": o.lowConns,
		"pools": o.pools, "pool": o.pool, "sessions": o.sessions, "took_s": math.Round(took.Seconds()),
	}
	errors := 0
	for _, x := range cells {
		errors += x.res.errors
	}
	summary["errors"] = errors
	for k, v := range worst {
		summary[k] = v
	}
	for k, v := range worstCPU {
		summary[k] = v
	}
	line, _ := json.Marshal(summary)
	fmt.Fprintln(out, string(line))
}

// cellsAt are the cells at conns connections, in the kinds' order.
func cellsAt(cells []*cell, conns int) []*cell {
	var out []*cell
	for _, c := range cells {
		if c.conns == conns {
			out = append(out, c)
		}
	}
	return out
}

// bestCell is the kind's cell of the highest median rate among at.
func bestCell(at []*cell, key string) *cell {
	var best *cell
	for _, c := range at {
		if c.k.key == key && (best == nil || c.res.medianRate() > best.res.medianRate()) {
			best = c
		}
	}
	return best
}

func bestRate(at []*cell, key string) float64 {
	if c := bestCell(at, key); c != nil {
		return c.res.medianRate()
	}
	return 0
}

func ratioText(v, of float64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v/of)
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func perReq(n int64, reqs int64) float64 {
	if reqs == 0 {
		return 0
	}
	return float64(n) / float64(reqs)
}

func us(d time.Duration, reqs int64) float64 {
	if reqs == 0 {
		return 0
	}
	return float64(d.Nanoseconds()) / 1000 / float64(reqs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// cacheStatsOf sums the hits and misses of kind key's measured windows at
// the loads conns (the warm-up, the touch pass before each window and the
// caching of the revocations' victims are outside them; the checks that
// time each revocation on instance B, a few per revocation, fall inside the
// "cached" windows).
func cacheStatsOf(cells []*cell, conns []int, key string) pgstore.CacheStats {
	var s pgstore.CacheStats
	for _, x := range cells {
		if x.k.key == key && slices.Contains(conns, x.conns) {
			s.Hits += x.res.cache.Hits
			s.Misses += x.res.cache.Misses
		}
	}
	return s
}

// hitShare is the share of s's lookups answered from memory, 0 without any.
func hitShare(s pgstore.CacheStats) float64 {
	return perReq(int64(s.Hits), int64(s.Hits+s.Misses))
}
