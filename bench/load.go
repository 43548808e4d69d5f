package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator is a raw HTTP/1.1 client: each worker owns one
// keep-alive TCP connection, writes a request prepared before the run, and
// reads only the status line and Content-Length of the answer before
// discarding its body. net/http's client costs several times more CPU per
// request than that, and on two shared cores that CPU is taken from the
// servers under test. Its own cost is measured against a no-op server
// (noop.go) and printed with every run.

// loadResult is what one load run measured.
type loadResult struct {
	requests  int
	errors    int // connection errors and answers other than 200
	elapsed   time.Duration
	latencies []time.Duration
}

// requestsFor prepares one GET per header value, so that the workers only
// copy bytes.
func requestsFor(header string, values []string) [][]byte {
	out := make([][]byte, len(values))
	for i, v := range values {
		var b bytes.Buffer
		b.WriteString("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		if header != "" {
			b.WriteString(header + ": " + v + "\r\n")
		}
		b.WriteString("\r\n")
		out[i] = b.Bytes()
	}
	return out
}

// runLoad sends requests from conns workers, each over its own keep-alive
// connection to addr and each request with the next session's header, until
// d has passed (d > 0) or, with d == 0, until every request of reqs has been
// sent exactly once.
func runLoad(ctx context.Context, addr string, reqs [][]byte, conns int, d time.Duration, keepLatencies bool) loadResult {
	var (
		next   atomic.Int64
		mu     sync.Mutex
		total  loadResult
		wg     sync.WaitGroup
		n      = int64(len(reqs))
		start  = time.Now()
		cutoff = start.Add(d)
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine loadResult
			var c *rawConn
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if d == 0 && i >= n {
					break
				}
				t0 := time.Now()
				if d > 0 && t0.After(cutoff) {
					break
				}
				if c == nil {
					var err error
					if c, err = dial(addr); err != nil {
						mine.requests++
						mine.errors++
						time.Sleep(time.Millisecond)
						continue
					}
				}
				status, err := c.roundTrip(reqs[i%n])
				if keepLatencies {
					mine.latencies = append(mine.latencies, time.Since(t0))
				}
				mine.requests++
				if err != nil {
					c.Close()
					c = nil
				}
				if err != nil || status != 200 {
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

// rawConn is one keep-alive HTTP/1.1 connection.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dial(addr string) (*rawConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{Conn: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

var errResponse = errors.New("malformed or unframed response")

// roundTrip writes req and reads the answer's status and Content-Length,
// discarding headers and body. An answer without Content-Length (chunked, or
// closing the connection) is an error: the variants' handlers all answer
// with a length.
func (c *rawConn) roundTrip(req []byte) (status int, err error) {
	if _, err := c.Write(req); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, errResponse
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errResponse
	}
	length := -1
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 15 && asciiEqualFold(h[:15], "content-length:") {
			length, err = strconv.Atoi(string(bytes.TrimSpace(h[15:])))
			if err != nil {
				return 0, errResponse
			}
		}
	}
	if length < 0 {
		return 0, errResponse
	}
	_, err = c.r.Discard(length)
	return status, err
}

func asciiEqualFold(b []byte, lower string) bool {
	for i := range len(lower) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
