package main

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what one load run measured.
type loadResult struct {
	requests  int
	errors    int // transport errors and non-200 answers
	elapsed   time.Duration
	latencies []time.Duration
}

// newClient is a keep-alive client with enough idle connections for every worker.
func newClient(concurrency int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}}
}

// runLoad sends requests from concurrency workers, each request with the
// next session's header, until d has passed (d > 0) or, with d == 0, until
// every session has been requested exactly once.
func runLoad(ctx context.Context, client *http.Client, v *variant, concurrency int, d time.Duration, keepLatencies bool) loadResult {
	var (
		next   atomic.Int64
		mu     sync.Mutex
		total  loadResult
		wg     sync.WaitGroup
		n      = int64(len(v.values))
		start  = time.Now()
		cutoff = start.Add(d)
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine loadResult
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if d == 0 && i >= n {
					break
				}
				if d > 0 && time.Now().After(cutoff) {
					break
				}
				t0 := time.Now()
				okay := get(ctx, client, v.url, v.header, v.values[i%n])
				if keepLatencies {
					mine.latencies = append(mine.latencies, time.Since(t0))
				}
				mine.requests++
				if !okay {
					mine.errors++
				}
			}
			mu.Lock()
			total.requests += mine.requests
			total.errors += mine.errors
			total.latencies = append(total.latencies, mine.latencies...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

func get(ctx context.Context, client *http.Client, url, header, value string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
